import Foundation

/// The character tables the views need (Traditional → Simplified, pinyin, confusables), loaded once
/// from the module's resources (built by tools/safety/make_tables.py).
public struct CharacterTables: Sendable {
    let traditionalToSimplified: [UInt32: UInt32]
    let pinyin: [UInt32: [UInt32]]
    let confusables: [UInt32: UInt32]

    public static let shared: CharacterTables = {
        do { return try CharacterTables() } catch { fatalError("MoviolaSafety's character tables are missing from the build: \(error)") }
    }()

    init() throws {
        func rows(_ name: String) throws -> [[Substring]] {
            guard let url = Bundle.module.url(forResource: name, withExtension: "tsv", subdirectory: "Resources") else {
                throw PolicyError("resource \(name).tsv is missing")
            }
            return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t") }
        }
        func scalar(_ text: Substring) -> UInt32? { text.unicodeScalars.count == 1 ? text.unicodeScalars.first!.value : nil }
        var t2s: [UInt32: UInt32] = [:]
        for row in try rows("t2s") where row.count == 2 {
            if let a = scalar(row[0]), let b = scalar(row[1]) { t2s[a] = b }
        }
        var pinyin: [UInt32: [UInt32]] = [:]
        for row in try rows("pinyin") where row.count >= 2 {
            if let a = scalar(row[0]) { pinyin[a] = row[1].unicodeScalars.map(\.value) }
        }
        var confusables: [UInt32: UInt32] = [:]
        for row in try rows("confusables") where row.count == 2 {
            if let a = scalar(row[0]), let b = scalar(row[1]) { confusables[a] = b }
        }
        traditionalToSimplified = t2s
        self.pinyin = pinyin
        self.confusables = confusables
    }

    /// Traditional → Simplified for a whole string (matching terms and text the same way).
    func simplified(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars { out.append(traditionalToSimplified[s.value].flatMap(Unicode.Scalar.init) ?? s) }
        return String(out)
    }

    func pinyin(of text: String) -> String? {
        var out = ""
        for s in text.unicodeScalars {
            guard let syllable = pinyin[s.value] else { return nil }
            out += String(String.UnicodeScalarView(syllable.compactMap(Unicode.Scalar.init)))
        }
        return out
    }
}

/// Several views of one prompt that matching runs on at once; each view keeps, per character, the
/// index of the character of `base` it came from, so matches can be checked against word boundaries
/// and reported in the original's terms.
struct TextViews {
    /// NFKC, lower-cased, without zero-width and bidi controls.
    let base: [UInt32]
    /// `base` with confusables and accented letters folded to ASCII, leetspeak digits and symbols
    /// between letters read as letters, Traditional Chinese as Simplified, and in-word separators as
    /// spaces (one character per character).
    let skeleton: [UInt32]
    /// `skeleton` without the separators evasions insert inside words (spaces, `.`, `*`, `-`, …).
    let joined: [UInt32]
    let joinedOrigin: [Int]
    /// Chinese characters as toneless pinyin and Latin letters kept, without separators and tone digits.
    let pinyin: [UInt32]
    let pinyinOrigin: [Int]
    /// Whether invisible characters (zero-width, bidi controls) were removed.
    let hadInvisibleCharacters: Bool

    static let leet: [UInt32: UInt32] = [
        "4": "a", "@": "a", "8": "b", "(": "c", "3": "e", "6": "g", "9": "g", "1": "i", "!": "i", "|": "l",
        "0": "o", "$": "s", "5": "s", "7": "t", "+": "t", "2": "z",
    ].reduce(into: [:]) { $0[$1.key.unicodeScalars.first!.value] = $1.value.unicodeScalars.first!.value }

    static func isIgnorable(_ v: UInt32) -> Bool {
        v == 0x00AD || v == 0x034F || v == 0x061C || (0x115F...0x1160).contains(v) || (0x17B4...0x17B5).contains(v)
            || (0x180B...0x180F).contains(v) || (0x200B...0x200F).contains(v) || (0x202A...0x202E).contains(v)
            || (0x2060...0x206F).contains(v) || v == 0x3164 || (0xFE00...0xFE0F).contains(v) || v == 0xFEFF
            || v == 0xFFA0 || (0x1D173...0x1D17A).contains(v) || (0xE0000...0xE0FFF).contains(v)
    }

    static func isLetter(_ v: UInt32) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        return s.properties.isAlphabetic
    }

    /// The ASCII letter an accented Latin letter is built on (è → e), if it is one.
    static func unaccented(_ v: UInt32) -> UInt32? {
        guard v > 0x7F, isLetter(v), let scalar = Unicode.Scalar(v),
              let first = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars.first, first.isASCII else { return nil }
        return first.value
    }

    static func isCJK(_ v: UInt32) -> Bool { (0x3400...0x9FFF).contains(v) || (0xF900...0xFAFF).contains(v) || (0x20000...0x2FA1F).contains(v) }

    /// Separators an evasion puts inside a word; sentence punctuation (`,` `;` `!` `?` and CJK marks) is not one.
    static func isEvasionSeparator(_ v: UInt32) -> Bool {
        if let s = Unicode.Scalar(v), s.properties.isWhitespace { return true }
        switch v {
        case 0x2E, 0x2A, 0x2D, 0x5F, 0x7E, 0x2F, 0x5C, 0x27, 0x22, 0x60, 0x5E, 0x23, 0x3D, 0x3A, 0xB7, 0x2022, 0x30FB, 0x2027: return true
        default: return false
        }
    }

    init(_ text: String, tables: CharacterTables) {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var base: [UInt32] = []
        var invisible = false
        for s in folded.unicodeScalars {
            if Self.isIgnorable(s.value) { invisible = true } else { base.append(s.value) }
        }
        self.base = base
        hadInvisibleCharacters = invisible

        var skeleton = base
        for i in 0..<base.count {
            let v = base[i]
            if Self.isEvasionSeparator(v) {
                skeleton[i] = 0x20  // "self-harm", "self_harm" and "self harm" are one term
            } else if let ascii = tables.confusables[v] {
                skeleton[i] = ascii
            } else if let simple = tables.traditionalToSimplified[v] {
                skeleton[i] = simple
            } else if let plain = Self.unaccented(v) {
                skeleton[i] = plain
            }
        }
        // Leetspeak: a digit or symbol read as a letter only inside a word (next to a letter, or to a run of
        // leet characters that touches one), so "3 balls" keeps its 3 while "s3x" and "n@k3d" become words;
        // in the joined view the same is decided after separators are gone ("c h 1 l d").
        func leet(_ folded: [UInt32], _ original: [UInt32]) -> [UInt32] {
            var out = folded
            func letter(_ j: Int) -> Bool { j >= 0 && j < folded.count && folded[j] < 0x80 && Self.isLetter(folded[j]) }
            for i in 0..<folded.count where Self.leet[original[i]] != nil {
                var left = i - 1
                while left >= 0 && Self.leet[original[left]] != nil { left -= 1 }
                var right = i + 1
                while right < folded.count && Self.leet[original[right]] != nil { right += 1 }
                if letter(left) || letter(right) { out[i] = Self.leet[original[i]]! }
            }
            return out
        }
        self.skeleton = leet(skeleton, base)

        var joinedFolded: [UInt32] = []
        var joinedBase: [UInt32] = []
        var joinedOrigin: [Int] = []
        for (i, v) in skeleton.enumerated() where !Self.isEvasionSeparator(v) {
            joinedFolded.append(v)
            joinedBase.append(base[i])
            joinedOrigin.append(i)
        }
        self.joined = leet(joinedFolded, joinedBase)
        self.joinedOrigin = joinedOrigin

        var pinyin: [UInt32] = []
        var pinyinOrigin: [Int] = []
        for (i, v) in base.enumerated() {
            if let syllable = tables.pinyin[v] {
                pinyin += syllable
                pinyinOrigin += Array(repeating: i, count: syllable.count)
            } else if v < 0x80, Self.isLetter(v) {
                pinyin.append(v)
                pinyinOrigin.append(i)
            } else if let plain = Self.unaccented(v) {
                pinyin.append(plain)  // tone marks: sè → se
                pinyinOrigin.append(i)
            }
            // Digits (tone numbers), separators and everything else are left out.
        }
        self.pinyin = pinyin
        self.pinyinOrigin = pinyinOrigin
    }

    /// True when `base[index]` starts a word: the first character, or one after a non-letter, or a CJK character.
    func startsWord(_ index: Int) -> Bool {
        index <= 0 || !Self.isLetter(skeleton[index - 1]) || Self.isCJK(skeleton[index]) || Self.isCJK(skeleton[index - 1])
    }

    /// True when `base[index]` is the last character of a word.
    func endsWord(_ index: Int) -> Bool {
        index >= skeleton.count - 1 || !Self.isLetter(skeleton[index + 1]) || Self.isCJK(skeleton[index]) || Self.isCJK(skeleton[index + 1])
    }

    /// Word boundaries as written (a tone digit after a pinyin syllable ends the word).
    func startsWordAsWritten(_ index: Int) -> Bool {
        index <= 0 || !Self.isLetter(base[index - 1]) || Self.isCJK(base[index]) || Self.isCJK(base[index - 1])
    }

    func endsWordAsWritten(_ index: Int) -> Bool {
        index >= base.count - 1 || !Self.isLetter(base[index + 1]) || Self.isCJK(base[index]) || Self.isCJK(base[index + 1])
    }

    /// The original text of base[start...end].
    func text(_ start: Int, _ end: Int) -> String {
        String(String.UnicodeScalarView(base[start...end].compactMap(Unicode.Scalar.init)))
    }
}
