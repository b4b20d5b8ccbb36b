import Foundation

/// A SentencePiece unigram tokenizer, as used by T5/UMT5, loaded from either a Hugging Face
/// `tokenizer.json` or a SentencePiece `spiece.model`, each reproducing its own reference
/// implementation: `tokenizers` (Precompiled normaliser per grapheme, Strip, collapse of repeated
/// spaces, Metaspace, Unigram, `</s>`) or `sentencepiece` (longest-match normalisation with
/// whitespace handling, Viterbi over the whole sentence, `</s>` appended).
public struct UnigramTokenizer: Sendable {
    /// Which reference behaviour normalisation and scoring follow.
    public enum Flavor: Sendable { case huggingFace, sentencePiece }

    public let flavor: Flavor
    public let pieces: [String]
    let scores: [Double]
    let pieceIDs: [String: Int]
    /// Pieces that may be matched in text (not control or unknown symbols, not unused).
    let matchable: Set<Int>
    public let unknownID: Int
    /// Appended after the text (`</s>`).
    public let endOfSequenceID: Int?
    let charsMap: PrecompiledCharsMap?
    let unknownScore: Double
    let maxPieceBytes: Int
    /// Special tokens split out of the text before normalisation (Hugging Face only).
    let specialTokens: [(text: String, id: Int)]

    public var vocabularySize: Int { pieces.count }

    /// Loads `tokenizer.json` when present (Hugging Face behaviour), else `spiece.model`.
    public static func load(directory: String) throws -> UnigramTokenizer {
        let json = (directory as NSString).appendingPathComponent("tokenizer.json")
        let model = (directory as NSString).appendingPathComponent("spiece.model")
        if FileManager.default.fileExists(atPath: json) { return try UnigramTokenizer(tokenizerJSON: json) }
        if FileManager.default.fileExists(atPath: model) { return try UnigramTokenizer(sentencePieceModel: model) }
        throw EngineError("\(directory): no tokenizer.json or spiece.model")
    }

    /// A SentencePiece `.model` file.
    public init(sentencePieceModel path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError("\(path): cannot read file") }
        let file = try SentencePieceModelFile(data: Array(data), path: path)
        guard file.modelType == 1 else { throw EngineError("\(path): only unigram SentencePiece models are supported (model_type \(file.modelType))") }
        guard !file.byteFallback else { throw EngineError("\(path): byte-fallback SentencePiece models are not supported yet") }
        guard file.addDummyPrefix, !file.treatWhitespaceAsSuffix else {
            throw EngineError("\(path): models without a dummy prefix or with whitespace as suffix are not supported")
        }
        flavor = .sentencePiece
        pieces = file.pieces.map(\.text)
        scores = file.pieces.map { Double($0.score) }
        var ids: [String: Int] = [:]
        var matchable = Set<Int>()
        for (i, p) in file.pieces.enumerated() {
            if ids[p.text] == nil { ids[p.text] = i }
            if p.type == .normal || p.type == .userDefined { matchable.insert(i) }
        }
        pieceIDs = ids
        self.matchable = matchable
        unknownID = file.unkID
        endOfSequenceID = ids["</s>"]
        charsMap = file.charsMap.isEmpty ? nil : try PrecompiledCharsMap(blob: file.charsMap)
        let normalScores = file.pieces.filter { $0.type == .normal }.map(\.score)
        unknownScore = Double((normalScores.min() ?? 0) - 10)
        maxPieceBytes = pieces.map(\.utf8.count).max() ?? 1
        specialTokens = []
        guard unknownID >= 0 && unknownID < pieces.count else { throw EngineError("\(path): unk_id \(unknownID) is outside the vocabulary") }
    }

    /// A Hugging Face `tokenizer.json` with a Unigram model.
    public init(tokenizerJSON path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
              let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw EngineError("\(path): not a JSON object") }
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "Unigram",
              let vocab = model["vocab"] as? [[Any]]
        else { throw EngineError("\(path): only Unigram tokenizers are supported (model.type \"Unigram\" with a vocab)") }
        if model["byte_fallback"] as? Bool == true { throw EngineError("\(path): byte-fallback tokenizers are not supported yet") }
        var pieces: [String] = []
        var scores: [Double] = []
        for entry in vocab {
            guard entry.count == 2, let piece = entry[0] as? String, let score = (entry[1] as? NSNumber)?.doubleValue else {
                throw EngineError("\(path): malformed vocab entry")
            }
            pieces.append(piece)
            scores.append(score)
        }
        guard let unk = (model["unk_id"] as? NSNumber)?.intValue, unk >= 0, unk < pieces.count else {
            throw EngineError("\(path): model.unk_id is missing or outside the vocabulary")
        }
        // The normaliser must be what the T5 converter writes; anything else would be silently wrong.
        var charsMap: PrecompiledCharsMap?
        if let normalizer = root["normalizer"] as? [String: Any] {
            let parts = normalizer["type"] as? String == "Sequence" ? (normalizer["normalizers"] as? [[String: Any]] ?? []) : [normalizer]
            for part in parts {
                switch part["type"] as? String {
                case "Precompiled":
                    guard let encoded = part["precompiled_charsmap"] as? String, let blob = Data(base64Encoded: encoded) else {
                        throw EngineError("\(path): Precompiled normalizer without a readable precompiled_charsmap")
                    }
                    charsMap = try PrecompiledCharsMap(blob: Array(blob))
                case "Strip", "Replace": break
                case let other: throw EngineError("\(path): normalizer \(other ?? "?") is not supported (Precompiled, Strip, Replace)")
                }
            }
        }
        var ids: [String: Int] = [:]
        for (i, p) in pieces.enumerated() where ids[p] == nil { ids[p] = i }
        var special: [(String, Int)] = []
        for token in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = token["content"] as? String, let id = (token["id"] as? NSNumber)?.intValue, !content.isEmpty {
                special.append((content, id))
            }
        }
        flavor = .huggingFace
        self.pieces = pieces
        self.scores = scores
        pieceIDs = ids
        matchable = Set(0..<pieces.count)
        unknownID = unk
        endOfSequenceID = ids["</s>"]
        self.charsMap = charsMap
        unknownScore = (scores.min() ?? 0) - 10
        maxPieceBytes = pieces.map(\.utf8.count).max() ?? 1
        specialTokens = special.sorted { $0.0.utf8.count > $1.0.utf8.count }
    }

    /// Token ids for `text`, followed by `</s>`; at most `maxLength` ids (truncated keeping `</s>`).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        var ids: [Int] = []
        switch flavor {
        case .sentencePiece:
            ids = viterbi(Array(normalizeSentencePiece(text).utf8), fuseUnknown: true)
        case .huggingFace:
            for segment in splitSpecialTokens(text) {
                switch segment {
                case .special(let id): ids.append(id)
                case .text(let part):
                    for word in metaspaceWords(normalizeHuggingFace(part)) {
                        ids += viterbi(Array(word.utf8), fuseUnknown: true)
                    }
                }
            }
        }
        if let maxLength {
            let room = max(0, maxLength - (endOfSequenceID == nil ? 0 : 1))
            if ids.count > room { ids = Array(ids.prefix(room)) }
        }
        if let eos = endOfSequenceID { ids.append(eos) }
        return ids
    }

    // MARK: - SentencePiece normalisation

    /// `Normalizer::Normalize`: charsmap rules by longest match, leading/trailing/repeated
    /// whitespace removed, a dummy prefix added, spaces escaped as ▁.
    func normalizeSentencePiece(_ text: String) -> String {
        var input = Array(text.utf8)[...]
        func nextRule() -> ([UInt8], Int) {
            if let map = charsMap, let rule = map.longestRule(input) { return (rule.replacement, rule.consumed) }
            let length = Self.utf8Length(input.first!)
            return (Array(input.prefix(length)), min(length, input.count))
        }
        while !input.isEmpty {
            let (replacement, consumed) = nextRule()
            if replacement != [0x20] { break }
            input = input.dropFirst(consumed)
        }
        guard !input.isEmpty else { return "" }
        var out: [UInt8] = [0xE2, 0x96, 0x81]
        var previousSpace = true
        while !input.isEmpty {
            var (replacement, consumed) = nextRule()
            if previousSpace { while replacement.first == 0x20 { replacement.removeFirst() } }
            if !replacement.isEmpty {
                for byte in replacement {
                    if byte == 0x20 { out += [0xE2, 0x96, 0x81] } else { out.append(byte) }
                }
                previousSpace = replacement.last == 0x20
            }
            input = input.dropFirst(consumed)
        }
        while out.count >= 3 && out.suffix(3) == [0xE2, 0x96, 0x81] { out.removeLast(3) }
        return String(decoding: out, as: UTF8.self)
    }

    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: 1
        case 0xC0..<0xE0: 2
        case 0xE0..<0xF0: 3
        case 0xF0..<0xF8: 4
        default: 1
        }
    }

    // MARK: - Hugging Face normalisation

    enum Segment { case text(String), special(Int) }

    func splitSpecialTokens(_ text: String) -> [Segment] {
        guard !specialTokens.isEmpty else { return [.text(text)] }
        var segments: [Segment] = []
        var rest = Substring(text)
        var pending = ""
        outer: while !rest.isEmpty {
            for (token, id) in specialTokens where rest.hasPrefix(token) {
                if !pending.isEmpty { segments.append(.text(pending)); pending = "" }
                segments.append(.special(id))
                rest = rest.dropFirst(token.count)
                continue outer
            }
            pending.append(rest.removeFirst())
        }
        if !pending.isEmpty { segments.append(.text(pending)) }
        return segments
    }

    /// Precompiled (per grapheme, shortest rule), then Strip(right), then runs of two or more
    /// spaces → ▁.
    func normalizeHuggingFace(_ text: String) -> String {
        var out: [UInt8] = []
        for grapheme in text {
            let bytes = Array(String(grapheme).utf8)
            if let map = charsMap {
                if bytes.count < 6, let replacement = map.firstRule(bytes[...]) {
                    out += replacement
                    continue
                }
                for scalar in String(grapheme).unicodeScalars {
                    let part = Array(String(scalar).utf8)
                    out += map.firstRule(part[...]) ?? part
                }
            } else {
                out += bytes
            }
        }
        var s = String(decoding: out, as: UTF8.self)
        while let last = s.unicodeScalars.last, Self.isWhitespace(last) { s.unicodeScalars.removeLast() }
        var collapsed = ""
        var spaces = 0
        for ch in s.unicodeScalars {
            if ch == " " { spaces += 1; continue }
            if spaces == 1 { collapsed += " " } else if spaces > 1 { collapsed += "▁" }
            spaces = 0
            collapsed.unicodeScalars.append(ch)
        }
        if spaces == 1 { collapsed += " " } else if spaces > 1 { collapsed += "▁" }
        return collapsed
    }

    /// Rust's `char::is_whitespace` (Unicode White_Space), which `Strip` uses.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// Metaspace with `prepend_scheme: always` and `split: true`: spaces become ▁, a ▁ is
    /// prepended unless present, and the text splits before every ▁.
    func metaspaceWords(_ text: String) -> [String] {
        var s = text.replacingOccurrences(of: " ", with: "▁")
        if s.isEmpty { return [] }
        if !s.hasPrefix("▁") { s = "▁" + s }
        var words: [String] = []
        var current = ""
        for ch in s.unicodeScalars {
            if ch == "▁" && !current.isEmpty { words.append(current); current = "" }
            current.unicodeScalars.append(ch)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    // MARK: - Unigram Viterbi

    /// Best segmentation of UTF-8 `bytes` (sentencepiece's `EncodeOptimized`): at each
    /// character boundary, every vocabulary piece starting there extends the best path; a
    /// character no piece covers costs the unknown score. Consecutive unknowns fuse.
    func viterbi(_ bytes: [UInt8], fuseUnknown: Bool) -> [Int] {
        let size = bytes.count
        guard size > 0 else { return [] }
        var bestScore = [Double](repeating: 0, count: size + 1)
        var bestFrom = [Int](repeating: -1, count: size + 1)
        var bestID = [Int](repeating: -1, count: size + 1)
        let singlePrecision = flavor == .sentencePiece
        var start = 0
        while start < size {
            let base = bestScore[start]
            let charLength = min(Self.utf8Length(bytes[start]), size - start)
            var coversCharacter = false
            var end = start + 1
            while end <= min(size, start + maxPieceBytes) {
                if let id = pieceIDs[String(decoding: bytes[start..<end], as: UTF8.self)], matchable.contains(id),
                   String(decoding: bytes[start..<end], as: UTF8.self).utf8.count == end - start {
                    let candidate = singlePrecision ? Double(Float(scores[id]) + Float(base)) : scores[id] + base
                    if bestFrom[end] == -1 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        bestFrom[end] = start
                        bestID[end] = id
                    }
                    if end - start == charLength { coversCharacter = true }
                }
                end += 1
            }
            if !coversCharacter {
                let target = start + charLength
                let candidate = singlePrecision ? Double(Float(unknownScore) + Float(base)) : unknownScore + base
                if bestFrom[target] == -1 || candidate > bestScore[target] {
                    bestScore[target] = candidate
                    bestFrom[target] = start
                    bestID[target] = unknownID
                }
            }
            start += charLength
        }
        var ids: [Int] = []
        var position = size
        while position > 0 {
            ids.append(bestID[position])
            position = bestFrom[position]
        }
        ids.reverse()
        guard fuseUnknown else { return ids }
        var fused: [Int] = []
        for id in ids where !(id == unknownID && fused.last == unknownID) { fused.append(id) }
        return fused
    }
}
