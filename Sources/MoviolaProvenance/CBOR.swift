import Foundation

/// A CBOR data item (RFC 8949), enough for C2PA claims, assertions and COSE structures.
public indirect enum CBOR: Equatable, Sendable {
    case unsigned(UInt64)
    case negative(UInt64)          // the value is -1 - n
    case bytes(Data)
    case text(String)
    case array([CBOR])
    case map([(CBOR, CBOR)])
    case tagged(UInt64, CBOR)
    case bool(Bool)
    case null
    case double(Double)

    public static func int(_ value: Int) -> CBOR {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-1 - value))
    }

    /// A map with text keys, the common case in C2PA.
    public static func object(_ pairs: KeyValuePairs<String, CBOR>) -> CBOR {
        .map(pairs.map { (.text($0.key), $0.value) })
    }

    public static func == (a: CBOR, b: CBOR) -> Bool {
        a.encoded() == b.encoded()
    }

    /// Core deterministic encoding (RFC 8949 §4.2.1): shortest heads, definite lengths, map keys
    /// sorted by their encoded bytes.
    public func encoded() -> Data {
        var out = Data()
        encode(into: &out)
        return out
    }

    private static func head(_ major: UInt8, _ value: UInt64, into out: inout Data) {
        let m = major << 5
        switch value {
        case 0..<24: out.append(m | UInt8(value))
        case 24..<0x100: out.append(m | 24); out.append(UInt8(value))
        case 0x100..<0x10000:
            out.append(m | 25)
            for shift in stride(from: 8, through: 0, by: -8) { out.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        case 0x10000..<0x1_0000_0000:
            out.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        default:
            out.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((value >> UInt64(shift)) & 0xff)) }
        }
    }

    private func encode(into out: inout Data) {
        switch self {
        case .unsigned(let v): Self.head(0, v, into: &out)
        case .negative(let v): Self.head(1, v, into: &out)
        case .bytes(let d): Self.head(2, UInt64(d.count), into: &out); out.append(d)
        case .text(let s): let d = Data(s.utf8); Self.head(3, UInt64(d.count), into: &out); out.append(d)
        case .array(let items):
            Self.head(4, UInt64(items.count), into: &out)
            for item in items { item.encode(into: &out) }
        case .map(let pairs):
            Self.head(5, UInt64(pairs.count), into: &out)
            let encoded = pairs.map { ($0.0.encoded(), $0.1.encoded()) }
                .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            for (k, v) in encoded { out.append(k); out.append(v) }
        case .tagged(let tag, let item): Self.head(6, tag, into: &out); item.encode(into: &out)
        case .bool(let b): out.append(b ? 0xf5 : 0xf4)
        case .null: out.append(0xf6)
        case .double(let d):
            // Shortest form that keeps the value exactly (half precision is not needed here).
            let f = Float(d)
            if Double(f) == d || d.isNaN {
                out.append(0xfa)
                let bits = f.bitPattern
                for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8((bits >> UInt32(shift)) & 0xff)) }
            } else {
                out.append(0xfb)
                let bits = d.bitPattern
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((bits >> UInt64(shift)) & 0xff)) }
            }
        }
    }

    // MARK: - Reading

    /// Decodes one item; throws on truncated or malformed input, or on trailing bytes.
    public static func decode(_ data: Data) throws -> CBOR {
        var reader = Reader(bytes: [UInt8](data))
        let item = try reader.item(depth: 0)
        guard reader.position == reader.bytes.count else { throw ProvenanceError("CBOR: \(reader.bytes.count - reader.position) trailing bytes") }
        return item
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func byte() throws -> UInt8 {
            guard position < bytes.count else { throw ProvenanceError("CBOR: truncated") }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func take(_ n: UInt64) throws -> [UInt8] {
            guard n <= UInt64(bytes.count - position) else { throw ProvenanceError("CBOR: truncated") }
            defer { position += Int(n) }
            return Array(bytes[position..<(position + Int(n))])
        }

        mutating func argument(_ info: UInt8) throws -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24...27:
                var v: UInt64 = 0
                for b in try take(1 << UInt64(info - 24)) { v = v << 8 | UInt64(b) }
                return v
            default: throw ProvenanceError("CBOR: indefinite lengths and reserved values are not supported")
            }
        }

        mutating func item(depth: Int) throws -> CBOR {
            guard depth < 64 else { throw ProvenanceError("CBOR: nested too deeply") }
            let initial = try byte()
            let major = initial >> 5, info = initial & 0x1f
            switch major {
            case 0: return .unsigned(try argument(info))
            case 1: return .negative(try argument(info))
            case 2: return .bytes(Data(try take(try argument(info))))
            case 3:
                guard let s = String(bytes: try take(try argument(info)), encoding: .utf8) else { throw ProvenanceError("CBOR: invalid UTF-8 text") }
                return .text(s)
            case 4:
                let n = try argument(info)
                guard n <= UInt64(bytes.count - position) else { throw ProvenanceError("CBOR: truncated") }
                return .array(try (0..<n).map { _ in try item(depth: depth + 1) })
            case 5:
                let n = try argument(info)
                guard n <= UInt64(bytes.count - position) else { throw ProvenanceError("CBOR: truncated") }
                return .map(try (0..<n).map { _ in (try item(depth: depth + 1), try item(depth: depth + 1)) })
            case 6: return .tagged(try argument(info), try item(depth: depth + 1))
            default:
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22, 23: return .null
                case 25:
                    let b = try take(2)
                    return .double(Double(Float16(bitPattern: UInt16(b[0]) << 8 | UInt16(b[1]))))
                case 26:
                    var v: UInt32 = 0
                    for b in try take(4) { v = v << 8 | UInt32(b) }
                    return .double(Double(Float(bitPattern: v)))
                case 27:
                    var v: UInt64 = 0
                    for b in try take(8) { v = v << 8 | UInt64(b) }
                    return .double(Double(bitPattern: v))
                default: throw ProvenanceError("CBOR: unsupported simple value \(info)")
                }
            }
        }
    }

    // MARK: - Access

    public subscript(key: String) -> CBOR? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    public subscript(key: Int) -> CBOR? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .int(key) }?.1
    }

    public var text: String? { if case .text(let s) = self { return s } else { return nil } }
    public var bytes: Data? { if case .bytes(let d) = self { return d } else { return nil } }
    public var array: [CBOR]? { if case .array(let a) = self { return a } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .unsigned(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .negative(let v): return v < UInt64(Int.max) ? -1 - Int(v) : nil
        default: return nil
        }
    }
}

/// An error in provenance data: a malformed manifest, a bad certificate, a failed signature.
public struct ProvenanceError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
