import Foundation

/// The content ID that ties an output's four signals together: 64 bits, written `MV-` + 16 hex digits.
/// The watermark carries the 64 bits; the AIGC label, the C2PA manifest and the store carry the text.
public enum ProduceID {
    public static func string(_ id: UInt64) -> String {
        let hex = String(id, radix: 16, uppercase: true)
        return "MV-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func parse(_ text: String) -> UInt64? {
        guard text.hasPrefix("MV-"), text.count == 19 else { return nil }
        return UInt64(text.dropFirst(3), radix: 16)
    }
}
