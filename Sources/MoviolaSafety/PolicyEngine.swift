import Foundation
import Synchronization

/// Which input a verdict is about.
public enum PolicyInput: String, Codable, Sendable {
    case prompt, image, output
}

/// The outcome of checking a request: machine-readable, with a message for people.
public struct Verdict: Codable, Sendable, Equatable {
    public struct Match: Codable, Sendable, Equatable {
        public var category: String
        public var term: String
        /// Which view of the text matched: text, skeleton (confusables, leetspeak, Traditional Chinese),
        /// joined (separators inside words removed) or pinyin.
        public var view: String
        /// The matched span of the prompt (after NFKC and case folding).
        public var text: String
    }

    public var allowed: Bool
    /// `allow`, `block` or `review`.
    public var action: String
    public var category: String?
    public var rule: String?
    public var input: PolicyInput?
    public var policyVersion: String
    public var message: String
    public var matches: [Match]
    /// Signals worth logging (e.g. invisible characters were removed from the prompt).
    public var signals: [String]

    enum CodingKeys: String, CodingKey {
        case allowed, action, category, rule, input, policyVersion = "policy_version", message, matches, signals
    }

    /// Every key is written, absent values as null, so clients can rely on the shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(allowed, forKey: .allowed)
        try c.encode(action, forKey: .action)
        try c.encode(category, forKey: .category)
        try c.encode(rule, forKey: .rule)
        try c.encode(input, forKey: .input)
        try c.encode(policyVersion, forKey: .policyVersion)
        try c.encode(message, forKey: .message)
        try c.encode(matches, forKey: .matches)
        try c.encode(signals, forKey: .signals)
    }
}

/// What is known about an input image (from the image checks).
public struct ImageFacts: Sendable, Equatable {
    public var faces: Int
    public init(faces: Int) { self.faces = faces }

    /// What a video's sampled frames show, from the number of faces found in each (in order): a
    /// face counts only when it is found in two consecutive samples, since a person in a clip stays
    /// in view while the detector's rare false positive on a blurred shape or a noisy frame comes
    /// and goes. A single sample is taken as it is.
    public init(facesPerSampledFrame counts: [Int]) {
        if counts.count < 2 {
            faces = counts.first ?? 0
        } else {
            faces = zip(counts, counts.dropFirst()).map { min($0, $1) }.max() ?? 0
        }
    }
}

/// A compiled policy: the categories' terms in automata over the text views, ready to judge prompts in
/// time linear in their length.
public struct CompiledPolicy: Sendable {
    public let policy: Policy
    let tables: CharacterTables

    struct Pattern {
        var category: Int
        var term: String
        /// Latin-script terms must start and end on word boundaries; CJK terms match anywhere.
        var wordBounded: Bool
        var isException: Bool
    }

    let textPatterns: [Pattern]
    let textAutomaton: AhoCorasick
    /// The same patterns without separators, for the joined view.
    let joinedAutomaton: AhoCorasick
    let pinyinPatterns: [Pattern]
    let pinyinAutomaton: AhoCorasick

    static let suffixes = ["s", "es", "ed", "d", "ing", "er", "ers"]

    static func inflections(of word: String) -> Set<String> {
        guard word.count >= 3 else { return [] }
        var forms = Set(suffixes.map { word + $0 })
        if word.hasSuffix("e") { forms.insert(String(word.dropLast()) + "ing") }
        if let last = word.last, "bdgmnpt".contains(last) {
            forms.insert(word + String(last) + "ing")
            forms.insert(word + String(last) + "ed")
        }
        return forms
    }

    public init(_ policy: Policy, tables: CharacterTables = .shared) {
        self.policy = policy
        self.tables = tables
        var text: [(Pattern, [UInt32])] = []
        var pinyin: [(Pattern, [UInt32])] = []
        func normalised(_ term: String) -> [UInt32] {
            // The same folding as the skeleton view, so terms and text meet in one form.
            TextViews(term, tables: tables).skeleton
        }
        for (index, category) in policy.categories.enumerated() {
            for (isException, list) in [(false, category.terms), (true, category.exceptions)] {
                for term in list {
                    let folded = normalised(term)
                    guard !folded.isEmpty else { continue }
                    let cjk = folded.contains(where: TextViews.isCJK)
                    let pattern = Pattern(category: index, term: term, wordBounded: !cjk, isException: isException)
                    text.append((pattern, folded))
                    if !cjk, !isException, folded.allSatisfy({ $0 < 0x80 }) {
                        // Simple inflections (plural, past, -ing, agent nouns) of the last word, and of the first
                        // word of a phrase ("takes off her clothes").
                        let phrase = String(String.UnicodeScalarView(folded.compactMap(Unicode.Scalar.init)))
                        var words = phrase.split(separator: " ").map(String.init)
                        var forms = Set<String>()
                        for position in Set([0, words.count - 1]) {
                            let original = words[position]
                            for form in Self.inflections(of: original) {
                                words[position] = form
                                forms.insert(words.joined(separator: " "))
                            }
                            words[position] = original
                        }
                        forms.remove(phrase)
                        for form in forms.sorted() { text.append((pattern, form.unicodeScalars.map(\.value))) }
                    }
                    if cjk, !isException, folded.count >= 2, let syllables = tables.pinyin(of: tables.simplified(term)), syllables.count >= 5 {
                        pinyin.append((pattern, syllables.unicodeScalars.map(\.value)))
                    }
                }
            }
        }
        textPatterns = text.map(\.0)
        textAutomaton = AhoCorasick(patterns: text.map(\.1))
        joinedAutomaton = AhoCorasick(patterns: text.map { $0.1.filter { !TextViews.isEvasionSeparator($0) } })
        pinyinPatterns = pinyin.map(\.0)
        pinyinAutomaton = AhoCorasick(patterns: pinyin.map(\.1))
    }

    /// Categories the prompt matches, with where and how.
    func promptMatches(_ prompt: String) -> (matches: [Verdict.Match], categories: Set<Int>, views: TextViews) {
        let views = TextViews(prompt, tables: tables)
        // Spans (in base indices) that an exception phrase covers, per category.
        var exceptions: [Int: [ClosedRange<Int>]] = [:]
        var candidates: [(category: Int, term: String, view: String, start: Int, end: Int, wordBounded: Bool)] = []
        for m in textAutomaton.matches(in: views.skeleton) {
            let p = textPatterns[m.pattern]
            if p.isException {
                exceptions[p.category, default: []].append(m.start...(m.end - 1))
                continue
            }
            let view = Array(views.skeleton[m.start..<m.end]) == Array(views.base[m.start..<m.end]) ? "text" : "skeleton"
            candidates.append((p.category, p.term, view, m.start, m.end - 1, p.wordBounded))
        }
        for m in joinedAutomaton.matches(in: views.joined) {
            let p = textPatterns[m.pattern]
            guard !p.isException else { continue }
            let start = views.joinedOrigin[m.start], end = views.joinedOrigin[m.end - 1]
            // Only spans where more separators were removed than the term itself has; others the skeleton view saw.
            let termSeparators = p.term.unicodeScalars.filter { TextViews.isEvasionSeparator($0.value) }.count
            guard end - start + 1 > m.end - m.start + termSeparators else { continue }
            candidates.append((p.category, p.term, "joined", start, end, p.wordBounded))
        }
        for m in pinyinAutomaton.matches(in: views.pinyin) {
            let p = pinyinPatterns[m.pattern]
            let start = views.pinyinOrigin[m.start], end = views.pinyinOrigin[m.end - 1]
            // Whole syllables or whole words only.
            guard m.start == 0 || views.pinyinOrigin[m.start - 1] != start else { continue }
            guard m.end == views.pinyin.count || views.pinyinOrigin[m.end] != end else { continue }
            candidates.append((p.category, p.term, "pinyin", start, end, true))
        }
        var matches: [Verdict.Match] = []
        var categories = Set<Int>()
        for c in candidates {
            if c.wordBounded {
                let bounded = c.view == "pinyin"
                    ? views.startsWordAsWritten(c.start) && views.endsWordAsWritten(c.end)
                    : views.startsWord(c.start) && views.endsWord(c.end)
                if !bounded { continue }
            }
            if exceptions[c.category]?.contains(where: { $0.overlaps(c.start...c.end) }) == true { continue }
            categories.insert(c.category)
            let match = Verdict.Match(category: policy.categories[c.category].id, term: c.term, view: c.view, text: views.text(c.start, c.end))
            if !matches.contains(match) { matches.append(match) }
        }
        return (matches, categories, views)
    }

    /// Judges a finished clip before it is published: frames sampled from it (`frames`) stand where the
    /// input image stood, with the request's prompt. Consent rules are about input photos of real people,
    /// so they do not apply to generated frames.
    public func judgeOutput(prompt: String, negativePrompt: String = "", frames: ImageFacts) -> Verdict {
        var verdict = judge(prompt: prompt, negativePrompt: negativePrompt, image: frames, consent: nil, checkingOutput: true)
        if !verdict.allowed { verdict.input = .output }
        return verdict
    }

    /// Judges a request: the prompt (and negative prompt), and what is known about an input image.
    public func judge(prompt: String, negativePrompt: String = "", image: ImageFacts? = nil, consent: Bool? = nil) -> Verdict {
        judge(prompt: prompt, negativePrompt: negativePrompt, image: image, consent: consent, checkingOutput: false)
    }

    func judge(prompt: String, negativePrompt: String, image: ImageFacts?, consent: Bool?, checkingOutput: Bool) -> Verdict {
        let (matches, matched, views) = promptMatches(prompt)
        var signals: [String] = []
        if views.hadInvisibleCharacters { signals.append("invisible_characters_removed") }
        if matches.contains(where: { $0.view != "text" }) { signals.append("evasion_suspected") }
        if !negativePrompt.isEmpty, !promptMatches(negativePrompt).matches.isEmpty {
            signals.append("negative_prompt_mentions_policy_terms")
        }
        func verdict(_ action: PolicyAction, category: String?, rule: String?, input: PolicyInput?, message: String) -> Verdict {
            Verdict(allowed: action != .block, action: action == .flag ? "allow" : action.rawValue, category: category, rule: rule,
                    input: input, policyVersion: policy.version, message: message, matches: matches, signals: signals)
        }
        // Rules first (they combine inputs), then categories by severity: block, then review.
        let matchedIDs = Set(matched.map { policy.categories[$0].id })
        for rule in policy.rules {
            if let c = rule.promptCategory, !matchedIDs.contains(c) { continue }
            if let face = rule.imageHasFace {
                guard let image else { continue }
                if (image.faces > 0) != face { continue }
            }
            if let wanted = rule.consent {
                guard image != nil, !checkingOutput else { continue }
                if (consent ?? false) != wanted { continue }
            }
            if rule.action == .allow { continue }
            let input: PolicyInput = rule.promptCategory != nil ? .prompt : .image
            return verdict(rule.action, category: rule.category, rule: rule.id, input: input,
                           message: rule.message ?? "refused by rule \(rule.id)")
        }
        for action in [PolicyAction.block, .review] {
            if let index = matched.sorted().first(where: { policy.categories[$0].action == action }) {
                let category = policy.categories[index]
                let message = category.message ?? (action == .block
                    ? "the prompt asks for \(category.description.lowercased()), which this service does not generate"
                    : "the prompt touches \(category.description.lowercased()); it is allowed and recorded for review")
                return verdict(action, category: category.id, rule: nil, input: .prompt, message: message)
            }
        }
        return verdict(.allow, category: nil, rule: nil, input: nil, message: "allowed")
    }
}

/// The active policy, replaceable while the service runs: a reload that fails keeps the previous one.
public final class PolicyStore: Sendable {
    private let current: Mutex<CompiledPolicy>
    public let path: String?

    /// Loads `path`, or the shipped default policy when nil.
    public init(path: String?) throws {
        self.path = path
        current = Mutex(try Self.load(path))
    }

    public var policy: CompiledPolicy { current.withLock { $0 } }

    static func load(_ path: String?) throws -> CompiledPolicy {
        guard let path else { return CompiledPolicy(try Policy.shipped().policy) }
        guard let data = FileManager.default.contents(atPath: path) else { throw PolicyError("cannot read the policy file \(path)") }
        do {
            return CompiledPolicy(try Policy.parse(String(decoding: data, as: UTF8.self)))
        } catch var error as PolicyError {
            error.message = "\(path): \(error.message)"
            throw error
        }
    }

    /// Re-reads the file; on error the previous policy stays active and the error is returned.
    @discardableResult
    public func reload() -> Result<String, PolicyError> {
        do {
            let fresh = try Self.load(path)
            current.withLock { $0 = fresh }
            return .success(fresh.policy.version)
        } catch let error as PolicyError {
            return .failure(error)
        } catch {
            return .failure(PolicyError("\(error)"))
        }
    }
}
