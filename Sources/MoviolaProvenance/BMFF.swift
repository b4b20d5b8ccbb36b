import Foundation

/// A top-level box of an ISO BMFF (MP4) file: its type and where it lies.
public struct BMFFBox: Equatable, Sendable {
    public let type: String
    public let offset: Int
    public let size: Int
    public let headerSize: Int
    public var end: Int { offset + size }
}

/// Reading and rewriting the box structure of MP4 files, as the C2PA hard binding needs.
public enum BMFF {
    static let containerTypes: Set<String> = ["moov", "trak", "mdia", "minf", "stbl", "edts", "dinf", "udta", "mvex", "moof", "traf"]

    /// The boxes in `data[range]`, in order; throws when a size runs past the end.
    public static func boxes(in data: Data, range: Range<Int>? = nil) throws -> [BMFFBox] {
        let range = range ?? 0..<data.count
        var out: [BMFFBox] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= 8 else { throw ProvenanceError("MP4: \(range.upperBound - offset) stray bytes at offset \(offset)") }
            var size = Int(readUInt32(data, offset))
            var header = 8
            let type = String(decoding: data[(data.startIndex + offset + 4)..<(data.startIndex + offset + 8)], as: UTF8.self)
            if size == 1 {
                guard range.upperBound - offset >= 16 else { throw ProvenanceError("MP4: truncated box header at offset \(offset)") }
                let large = readUInt64(data, offset + 8)
                guard large <= UInt64(Int.max) else { throw ProvenanceError("MP4: box too large at offset \(offset)") }
                size = Int(large)
                header = 16
            } else if size == 0 {
                size = range.upperBound - offset
            }
            guard size >= header, size <= range.upperBound - offset else {
                throw ProvenanceError("MP4: box '\(type)' at offset \(offset) claims \(size) bytes but only \(range.upperBound - offset) remain (truncated or not an MP4 file)")
            }
            out.append(BMFFBox(type: type, offset: offset, size: size, headerSize: header))
            offset += size
        }
        return out
    }

    /// Checks the file looks like MP4: it parses and starts with `ftyp`.
    public static func topLevelBoxes(of data: Data) throws -> [BMFFBox] {
        guard data.count >= 8 else { throw ProvenanceError("not an MP4 file (\(data.count) bytes)") }
        let boxes: [BMFFBox]
        do {
            boxes = try Self.boxes(in: data)
        } catch {
            throw ProvenanceError("not a readable MP4 file: \(error)")
        }
        guard boxes.first?.type == "ftyp" else { throw ProvenanceError("not an MP4 file: it does not start with an 'ftyp' box") }
        return boxes
    }

    /// Inserts `box` (complete, with its header) right after `ftyp` and moves every chunk offset
    /// (`stco`, `co64`) by its size, so that the media data is still found.
    public static func insertingAfterFileType(_ box: Data, into file: Data) throws -> Data {
        let boxes = try topLevelBoxes(of: file)
        let ftyp = boxes[0]
        var patched = file
        for top in boxes where top.type == "moov" {
            try shiftChunkOffsets(in: &patched, range: (top.offset + top.headerSize)..<top.end, by: box.count)
        }
        if boxes.contains(where: { $0.type == "moof" }) {
            throw ProvenanceError("fragmented MP4 is not supported for embedding")
        }
        var out = Data(capacity: file.count + box.count)
        out.append(patched[patched.startIndex..<(patched.startIndex + ftyp.end)])
        out.append(box)
        out.append(patched[(patched.startIndex + ftyp.end)...])
        return out
    }

    static func shiftChunkOffsets(in data: inout Data, range: Range<Int>, by delta: Int) throws {
        for child in try boxes(in: data, range: range) {
            let body = child.offset + child.headerSize
            if containerTypes.contains(child.type) {
                try shiftChunkOffsets(in: &data, range: body..<child.end, by: delta)
            } else if child.type == "stco" || child.type == "co64" {
                let wide = child.type == "co64"
                guard child.end - body >= 8 else { throw ProvenanceError("MP4: short \(child.type) box") }
                let count = Int(readUInt32(data, body + 4))
                guard count <= (child.end - body - 8) / (wide ? 8 : 4) else { throw ProvenanceError("MP4: \(child.type) entry count runs past the box") }
                for i in 0..<count {
                    let at = body + 8 + i * (wide ? 8 : 4)
                    if wide {
                        writeUInt64(&data, at, readUInt64(data, at) + UInt64(delta))
                    } else {
                        let moved = UInt64(readUInt32(data, at)) + UInt64(delta)
                        guard moved <= UInt64(UInt32.max) else { throw ProvenanceError("MP4: chunk offset overflows stco; file too large") }
                        writeUInt32(&data, at, UInt32(moved))
                    }
                }
            }
        }
    }

    static func readUInt32(_ data: Data, _ offset: Int) -> UInt32 {
        let i = data.startIndex + offset
        return UInt32(data[i]) << 24 | UInt32(data[i + 1]) << 16 | UInt32(data[i + 2]) << 8 | UInt32(data[i + 3])
    }

    static func readUInt64(_ data: Data, _ offset: Int) -> UInt64 {
        UInt64(readUInt32(data, offset)) << 32 | UInt64(readUInt32(data, offset + 4))
    }

    static func writeUInt32(_ data: inout Data, _ offset: Int, _ value: UInt32) {
        let i = data.startIndex + offset
        for k in 0..<4 { data[i + k] = UInt8((value >> UInt32(24 - 8 * k)) & 0xff) }
    }

    static func writeUInt64(_ data: inout Data, _ offset: Int, _ value: UInt64) {
        writeUInt32(&data, offset, UInt32(value >> 32))
        writeUInt32(&data, offset + 4, UInt32(value & 0xffff_ffff))
    }
}

extension Data {
    mutating func appendUInt32(_ v: UInt32) { for k in 0..<4 { append(UInt8((v >> UInt32(24 - 8 * k)) & 0xff)) } }
    mutating func appendUInt64(_ v: UInt64) { appendUInt32(UInt32(v >> 32)); appendUInt32(UInt32(v & 0xffff_ffff)) }
}
