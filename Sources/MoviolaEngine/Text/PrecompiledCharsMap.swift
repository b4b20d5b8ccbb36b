/// SentencePiece's precompiled normalisation map: a darts-clone double-array trie over UTF-8
/// byte strings whose values index NUL-terminated replacement strings.
///
/// Blob layout: `[trie size: UInt32 LE][trie units: UInt32 LE × n][replacement strings]`.
public struct PrecompiledCharsMap: Sendable {
    let units: [UInt32]
    let normalized: [UInt8]

    public init(blob: [UInt8]) throws {
        guard blob.count >= 4 else { throw EngineError("precompiled_charsmap is truncated") }
        let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard trieSize % 4 == 0, 4 + trieSize <= blob.count else {
            throw EngineError("precompiled_charsmap declares a \(trieSize)-byte trie but has \(blob.count - 4) bytes")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] = UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        self.units = units
        normalized = Array(blob[(4 + trieSize)...])
    }

    /// Every rule whose key is a prefix of `key`, shortest first: (byte length, replacement offset).
    func prefixMatches(_ key: ArraySlice<UInt8>) -> [(length: Int, value: Int)] {
        guard !units.isEmpty else { return [] }
        var results: [(Int, Int)] = []
        var node = 0
        node ^= Self.offset(units[node])
        for (i, byte) in key.enumerated() {
            node ^= Int(byte)
            guard node >= 0, node < units.count else { return results }
            let unit = units[node]
            guard Self.label(unit) == UInt32(byte) else { return results }
            node ^= Self.offset(unit)
            if Self.hasLeaf(unit) {
                guard node < units.count else { return results }
                results.append((i + 1, Int(units[node] & 0x7FFF_FFFF)))
            }
        }
        return results
    }

    private static func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
    private static func label(_ unit: UInt32) -> UInt32 { unit & (0x8000_0000 | 0xFF) }
    private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The NUL-terminated replacement at `offset`.
    func replacement(at offset: Int) -> [UInt8] {
        guard offset < normalized.count else { return [] }
        var end = offset
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return Array(normalized[offset..<end])
    }

    /// SentencePiece's rule: the longest matching key at the start of `input`, as
    /// (replacement bytes, bytes consumed); nil when no rule applies.
    func longestRule(_ input: ArraySlice<UInt8>) -> (replacement: [UInt8], consumed: Int)? {
        guard let best = prefixMatches(input).max(by: { $0.length < $1.length }) else { return nil }
        return (replacement(at: best.value), best.length)
    }

    /// Hugging Face `tokenizers`' rule for a chunk (a grapheme or a character): the replacement
    /// of the *first* (shortest) matching key, applied to the whole chunk.
    func firstRule(_ chunk: ArraySlice<UInt8>) -> [UInt8]? {
        prefixMatches(chunk).first.map { replacement(at: $0.value) }
    }
}
