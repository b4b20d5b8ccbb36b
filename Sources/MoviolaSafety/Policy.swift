import Crypto
import Foundation
import Yams

/// An error in a policy file, with the line it is on.
public struct PolicyError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var line: Int?
    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// What a category or rule does when it matches.
public enum PolicyAction: String, Codable, Sendable {
    /// Refuse the request.
    case block
    /// Allow it, and record it for an operator to review.
    case review
    /// Allow it (for operator categories that only document or exempt).
    case allow
    /// Match silently: a signal that rules combine with other inputs (e.g. "undress intent" × "real face").
    case flag
}

/// An operator's content policy: categories of terms and rules over several inputs.
public struct Policy: Sendable {
    public struct Category: Sendable {
        public var id: String
        public var action: PolicyAction
        public var description: String
        public var message: String?
        public var terms: [String]
        public var exceptions: [String]
    }

    /// A rule over inputs: all its conditions must hold.
    public struct Rule: Sendable {
        public var id: String
        public var action: PolicyAction
        /// The category a verdict names (defaults to the rule's id).
        public var category: String
        public var message: String?
        /// The prompt matched this category (any action, `flag` included).
        public var promptCategory: String?
        /// An input image shows a human face (true) or not (false).
        public var imageHasFace: Bool?
        /// The request carries (true) or lacks (false) a consent attestation for real people in its image.
        public var consent: Bool?
    }

    /// How much a refusal tells the user.
    public enum Disclosure: String, Sendable { case explain, opaque }

    public var version: String
    public var disclosure: Disclosure
    public var categories: [Category]
    public var rules: [Rule]
    /// Refusals per account within the window before the account is rate-limited and flagged.
    public var refusalLimit: Int
    public var refusalWindowSeconds: Double

    /// Parses YAML (or JSON) policy text; errors carry the line.
    public static func parse(_ text: String) throws -> Policy {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { throw PolicyError("the policy file is empty") }
            node = composed
        } catch let error as YamlError {
            throw PolicyError(Self.describe(error), line: Self.line(of: error))
        }
        guard let root = node.mapping else { throw PolicyError("the policy must be a mapping with categories and rules", line: node.line) }
        let known: Set<String> = ["version", "disclosure", "categories", "rules", "refusals"]
        for key in root.keys {
            guard let name = key.string, known.contains(name) else {
                throw PolicyError("unknown top-level key \"\(key.string ?? "?")\"; known: \(known.sorted().joined(separator: ", "))", line: key.line)
            }
        }
        let digest = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        var policy = Policy(version: root["version"]?.string ?? "sha256:" + digest.prefix(12),
                            disclosure: .explain, categories: [], rules: [], refusalLimit: 5, refusalWindowSeconds: 3600)
        if let disclosure = root["disclosure"] {
            guard let value = disclosure.string.flatMap(Disclosure.init(rawValue:)) else {
                throw PolicyError("disclosure must be explain or opaque", line: disclosure.line)
            }
            policy.disclosure = value
        }
        if let refusals = root["refusals"] {
            guard let map = refusals.mapping else { throw PolicyError("refusals must be a mapping with limit and window_minutes", line: refusals.line) }
            if let limit = map["limit"] {
                guard let n = limit.int, n >= 1 else { throw PolicyError("refusals.limit must be a whole number ≥ 1", line: limit.line) }
                policy.refusalLimit = n
            }
            if let window = map["window_minutes"] {
                guard let m = window.float, m > 0 else { throw PolicyError("refusals.window_minutes must be a positive number", line: window.line) }
                policy.refusalWindowSeconds = m * 60
            }
        }
        guard let categories = root["categories"] else { throw PolicyError("the policy has no categories", line: node.line) }
        guard let categoryMap = categories.mapping else { throw PolicyError("categories must map category ids to their settings", line: categories.line) }
        for (key, value) in categoryMap {
            guard let id = key.string, Self.isIdentifier(id) else {
                throw PolicyError("category ids are lower-case letters, digits and _ (got \"\(key.string ?? "?")\")", line: key.line)
            }
            guard let map = value.mapping else { throw PolicyError("category \(id) must be a mapping", line: value.line) }
            let allowed: Set<String> = ["action", "description", "message", "terms", "exceptions"]
            for k in map.keys where !allowed.contains(k.string ?? "") {
                throw PolicyError("category \(id): unknown key \"\(k.string ?? "?")\"; known: \(allowed.sorted().joined(separator: ", "))", line: k.line)
            }
            guard let actionNode = map["action"] else { throw PolicyError("category \(id) has no action (block, review, allow or flag)", line: value.line) }
            guard let action = actionNode.string.flatMap(PolicyAction.init(rawValue:)) else {
                throw PolicyError("category \(id): action must be block, review, allow or flag, not \"\(actionNode.string ?? "?")\"", line: actionNode.line)
            }
            let terms = try Self.strings(map["terms"], what: "category \(id): terms")
            guard !terms.isEmpty else { throw PolicyError("category \(id) has no terms", line: value.line) }
            policy.categories.append(Category(id: id, action: action, description: map["description"]?.string ?? id,
                                              message: map["message"]?.string, terms: terms,
                                              exceptions: try Self.strings(map["exceptions"], what: "category \(id): exceptions")))
        }
        let categoryIDs = Set(policy.categories.map(\.id))
        if let rules = root["rules"] {
            guard let list = rules.sequence else { throw PolicyError("rules must be a list", line: rules.line) }
            for ruleNode in list {
                guard let map = ruleNode.mapping else { throw PolicyError("each rule must be a mapping", line: ruleNode.line) }
                let allowed: Set<String> = ["id", "action", "category", "message", "when"]
                for k in map.keys where !allowed.contains(k.string ?? "") {
                    throw PolicyError("rule: unknown key \"\(k.string ?? "?")\"; known: \(allowed.sorted().joined(separator: ", "))", line: k.line)
                }
                guard let id = map["id"]?.string, Self.isIdentifier(id) else { throw PolicyError("each rule needs an id (lower-case letters, digits, _)", line: ruleNode.line) }
                guard let actionNode = map["action"], let action = actionNode.string.flatMap(PolicyAction.init(rawValue:)), action != .flag else {
                    throw PolicyError("rule \(id): action must be block, review or allow", line: map["action"]?.line ?? ruleNode.line)
                }
                guard let when = map["when"]?.mapping, !when.isEmpty else {
                    throw PolicyError("rule \(id) needs a `when` with prompt_category, image_has_face and/or consent", line: ruleNode.line)
                }
                var rule = Rule(id: id, action: action, category: map["category"]?.string ?? id, message: map["message"]?.string)
                for (k, v) in when {
                    switch k.string ?? "" {
                    case "prompt_category":
                        guard let c = v.string, categoryIDs.contains(c) else {
                            throw PolicyError("rule \(id): prompt_category \"\(v.string ?? "?")\" is not a category of this policy", line: v.line)
                        }
                        rule.promptCategory = c
                    case "image_has_face":
                        guard let b = v.bool else { throw PolicyError("rule \(id): image_has_face must be true or false", line: v.line) }
                        rule.imageHasFace = b
                    case "consent":
                        guard let b = v.bool else { throw PolicyError("rule \(id): consent must be true or false", line: v.line) }
                        rule.consent = b
                    default:
                        throw PolicyError("rule \(id): unknown condition \"\(k.string ?? "?")\"; known: prompt_category, image_has_face, consent", line: k.line)
                    }
                }
                policy.rules.append(rule)
            }
        }
        return policy
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// A list of strings, or a mapping of language → list (`{en: […], zh: […]}`).
    static func strings(_ node: Node?, what: String) throws -> [String] {
        guard let node else { return [] }
        if let list = node.sequence {
            return try list.map { item in
                guard let s = item.string, !s.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw PolicyError("\(what) must be non-empty strings", line: item.line)
                }
                return s
            }
        }
        if let map = node.mapping {
            return try map.values.flatMap { try strings($0, what: what) }
        }
        throw PolicyError("\(what) must be a list of strings or a mapping of language to lists", line: node.line)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return "not valid YAML: \(problem)"
        default: return "not valid YAML: \(error)"
        }
    }

    /// The policy shipped with Moviola (Resources/default-policy.yaml).
    public static func shipped() throws -> (policy: Policy, text: String) {
        guard let url = Bundle.module.url(forResource: "default-policy", withExtension: "yaml", subdirectory: "Resources") else {
            throw PolicyError("the default policy is missing from the build")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        return (try parse(text), text)
    }
}

extension Node {
    var line: Int { mark?.line ?? 0 }
}
