import Foundation

/// What a trained model folder says about itself in `moviola.json` (written by the training
/// recipe): generation defaults and the vocabulary it was trained on.
public struct ModelCard: Decodable, Sendable {
    /// English and Chinese terms for one concept.
    public struct Terms: Decodable, Sendable {
        public let en: [String]
        public let zh: [String]
    }

    /// Terms per category, e.g. kinds → ball → (ball, balls, sphere…; 球, 小球…).
    public struct Vocabulary: Decodable, Sendable {
        public let kinds: [String: Terms]
        public let colours: [String: Terms]
        public let backgrounds: [String: Terms]
        public let counts: [Int]
        public let motions: [String]
        public let speeds: [String]
        public let cameras: [String]
        public let aspects: [String]
    }

    public let config: String?
    public let shortSide: Int?
    public let frames: Int?
    public let fps: Int?
    public let steps: Int?
    /// What `moviola generate` writes by default: upscaled to this short side, blended to this rate.
    public let outputShortSide: Int?
    public let outputFPS: Int?
    /// Text tokens the transformer was trained to see (prompt embeddings are zero-padded to it);
    /// Wan's releases use 512.
    public let maxSequenceLength: Int?
    public let vocabulary: Vocabulary?
    /// What the model cannot do yet, in a sentence for users (written after benchmarking it);
    /// `moviola generate` and `moviola models` print it, the models API returns it.
    public let limits: String?
    /// The same sentence in Simplified Chinese, for the web page in Chinese.
    public let limitsZH: String?

    enum CodingKeys: String, CodingKey {
        case config, shortSide = "short_side", frames, fps, steps, vocabulary, limits
        case limitsZH = "limits_zh"
        case outputShortSide = "output_short_side", outputFPS = "output_fps"
        case maxSequenceLength = "max_sequence_length"
    }

    /// The card in `folder/moviola.json`, or nil when the folder has none (e.g. a Wan release).
    public static func load(folder: String) throws -> ModelCard? {
        let path = (folder as NSString).appendingPathComponent("moviola.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try JSONConfig.load(ModelCard.self, from: path)
    }

    /// The concepts of `prompt` the model knows, by category; empty when it knows none of its
    /// objects, colours or backgrounds (an out-of-domain prompt).
    public func knownConcepts(in prompt: String) -> [String: [String]] {
        guard let vocabulary else { return [:] }
        let text = prompt.lowercased()
        let words = Set(text.split(whereSeparator: { !$0.isLetter && $0 != "-" }).map(String.init))
        func mentions(_ terms: Terms) -> Bool {
            terms.zh.contains { text.contains($0) }
                || terms.en.contains { term in term.contains(" ") ? text.contains(term) : words.contains(term) }
        }
        var found: [String: [String]] = [:]
        for (category, table) in [("kinds", vocabulary.kinds), ("colours", vocabulary.colours), ("backgrounds", vocabulary.backgrounds)] {
            let hits = table.filter { mentions($0.value) }.map(\.key).sorted()
            if !hits.isEmpty { found[category] = hits }
        }
        return found
    }
}
