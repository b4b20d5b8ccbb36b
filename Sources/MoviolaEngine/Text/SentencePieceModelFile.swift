import Foundation

/// The parts of a SentencePiece `.model` file (a `ModelProto` protobuf) that tokenization needs,
/// read with a minimal wire-format decoder.
struct SentencePieceModelFile {
    enum PieceType: Int { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    struct Piece {
        var text = ""
        var score: Float = 0
        var type: PieceType = .normal
    }

    var pieces: [Piece] = []
    var modelType = 1  // 1 = unigram
    var unkID = 0
    var byteFallback = false
    var charsMap: [UInt8] = []
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true
    var treatWhitespaceAsSuffix = false

    init(data: [UInt8], path: String) throws {
        var reader = ProtobufReader(bytes: data[...], path: path)
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2): pieces.append(try Self.piece(try reader.lengthDelimited(), path: path))
            case (2, 2):
                var trainer = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                while let (f, w) = try trainer.nextField() {
                    switch (f, w) {
                    case (3, 0): modelType = Int(try trainer.varint())
                    case (40, 0): unkID = Int(Int32(truncatingIfNeeded: try trainer.varint()))
                    case (35, 0): byteFallback = try trainer.varint() != 0
                    case (24, 0): treatWhitespaceAsSuffix = try trainer.varint() != 0
                    default: try trainer.skip(wire: w)
                    }
                }
            case (3, 2):
                var normalizer = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                while let (f, w) = try normalizer.nextField() {
                    switch (f, w) {
                    case (2, 2): charsMap = Array(try normalizer.lengthDelimited())
                    case (3, 0): addDummyPrefix = try normalizer.varint() != 0
                    case (4, 0): removeExtraWhitespaces = try normalizer.varint() != 0
                    case (5, 0): escapeWhitespaces = try normalizer.varint() != 0
                    default: try normalizer.skip(wire: w)
                    }
                }
            default: try reader.skip(wire: wire)
            }
        }
        guard !pieces.isEmpty else { throw EngineError("\(path): no vocabulary pieces (not a SentencePiece model?)") }
    }

    private static func piece(_ bytes: ArraySlice<UInt8>, path: String) throws -> Piece {
        var reader = ProtobufReader(bytes: bytes, path: path)
        var piece = Piece()
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2):
                guard let text = String(bytes: try reader.lengthDelimited(), encoding: .utf8) else {
                    throw EngineError("\(path): a vocabulary piece is not valid UTF-8")
                }
                piece.text = text
            case (2, 5): piece.score = Float(bitPattern: try reader.fixed32())
            case (3, 0): piece.type = PieceType(rawValue: Int(try reader.varint())) ?? .normal
            default: try reader.skip(wire: wire)
            }
        }
        return piece
    }
}

/// Protocol-buffer wire format, just enough to read SentencePiece models.
struct ProtobufReader {
    var bytes: ArraySlice<UInt8>
    let path: String

    mutating func nextField() throws -> (Int, Int)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = bytes.first, shift < 64 else { throw EngineError("\(path): truncated or malformed protobuf") }
            bytes = bytes.dropFirst()
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard bytes.count >= 4 else { throw EngineError("\(path): truncated protobuf") }
        let b = Array(bytes.prefix(4))
        bytes = bytes.dropFirst(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = Int(try varint())
        guard length >= 0, length <= bytes.count else { throw EngineError("\(path): truncated protobuf") }
        let value = bytes.prefix(length)
        bytes = bytes.dropFirst(length)
        return value
    }

    mutating func skip(wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1: guard bytes.count >= 8 else { throw EngineError("\(path): truncated protobuf") }; bytes = bytes.dropFirst(8)
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw EngineError("\(path): unsupported protobuf wire type \(wire)")
        }
    }
}
