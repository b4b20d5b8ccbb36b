import Foundation

/// JUMBF boxes (ISO/IEC 19566-5) as C2PA uses them: superboxes with a description box and content.
public enum JUMBF {
    /// Type UUIDs: a four-character code followed by the ISO suffix 0011-0010-8000-00AA00389B71.
    public static func typeUUID(_ code: String) -> Data {
        var d = Data(code.utf8)
        d.append(contentsOf: [0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
        return d
    }

    public static let manifestStore = typeUUID("c2pa")
    public static let manifest = typeUUID("c2ma")
    public static let assertionStore = typeUUID("c2as")
    public static let claim = typeUUID("c2cl")
    public static let signature = typeUUID("c2cs")
    public static let cborContent = typeUUID("cbor")
    public static let jsonContent = typeUUID("json")

    public static func box(_ type: String, _ payload: Data) -> Data {
        var d = Data()
        d.appendUInt32(UInt32(8 + payload.count))
        d.append(contentsOf: Array(type.utf8))
        d.append(payload)
        return d
    }

    /// A description box: type, toggles (label present + requestable, plus private-box bit when a
    /// salt follows), the NUL-terminated label, and an optional `c2sh` salt.
    public static func description(type: Data, label: String, salt: Data? = nil) -> Data {
        var payload = type
        payload.append(salt == nil ? 0x03 : 0x13)
        payload.append(contentsOf: Array(label.utf8))
        payload.append(0)
        if let salt { payload.append(box("c2sh", salt)) }
        return box("jumd", payload)
    }

    public static func superbox(type: Data, label: String, salt: Data? = nil, children: [Data]) -> Data {
        var payload = description(type: type, label: label, salt: salt)
        for child in children { payload.append(child) }
        return box("jumb", payload)
    }

    /// A parsed JUMBF superbox: its label, type, the bytes after its 8-byte header (what hashed URIs
    /// cover), its content boxes and child superboxes.
    public struct Node: Sendable {
        public let label: String
        public let type: Data
        public let contentsWithoutHeader: Data
        public let content: [(type: String, data: Data)]
        public let children: [Node]

        public func child(_ label: String) -> Node? { children.first { $0.label == label } }
    }

    public static func parse(_ data: Data) throws -> Node {
        let boxes = try BMFF.boxes(in: data)
        guard boxes.count == 1, boxes[0].type == "jumb" else { throw ProvenanceError("JUMBF: expected one superbox") }
        return try parseSuperbox(data, boxes[0], depth: 0)
    }

    static func parseSuperbox(_ data: Data, _ box: BMFFBox, depth: Int) throws -> Node {
        guard depth < 16 else { throw ProvenanceError("JUMBF: nested too deeply") }
        let body = (box.offset + box.headerSize)..<box.end
        let inner = try BMFF.boxes(in: data, range: body)
        guard let jumd = inner.first, jumd.type == "jumd", jumd.size >= 8 + 17 else { throw ProvenanceError("JUMBF: superbox without description") }
        let start = data.startIndex + jumd.offset + 8
        let type = data[start..<(start + 16)]
        let toggles = data[start + 16]
        var label = ""
        if toggles & 0x02 != 0 {
            var end = start + 17
            while end < data.startIndex + jumd.end && data[end] != 0 { end += 1 }
            label = String(decoding: data[(start + 17)..<end], as: UTF8.self)
        }
        var content: [(String, Data)] = []
        var children: [Node] = []
        for child in inner.dropFirst() {
            if child.type == "jumb" {
                children.append(try parseSuperbox(data, child, depth: depth + 1))
            } else {
                let s = data.startIndex + child.offset + child.headerSize
                content.append((child.type, Data(data[s..<(data.startIndex + child.end)])))
            }
        }
        let bodyData = Data(data[(data.startIndex + body.lowerBound)..<(data.startIndex + body.upperBound)])
        return Node(label: label, type: Data(type), contentsWithoutHeader: bodyData, content: content, children: children)
    }
}
