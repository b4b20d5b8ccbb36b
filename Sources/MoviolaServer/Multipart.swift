import Foundation

/// A `multipart/form-data` body (RFC 7578): fields and files by name.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var data: Data
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    var parts: [Part] = []

    subscript(name: String) -> Part? { parts.first { $0.name == name } }

    init(body: Data, contentType: String) throws {
        guard let range = contentType.range(of: "boundary=") else {
            throw ServiceError(.badRequest, "a multipart/form-data body needs a boundary in its Content-Type")
        }
        var boundary = String(contentType[range.upperBound...])
        if let semicolon = boundary.firstIndex(of: ";") { boundary = String(boundary[..<semicolon]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        guard !boundary.isEmpty else { throw ServiceError(.badRequest, "the multipart boundary is empty") }
        let delimiter = Data("--\(boundary)".utf8)
        let bytes = body
        var cursor = bytes.startIndex
        guard let first = bytes.range(of: delimiter, in: cursor..<bytes.endIndex) else {
            throw ServiceError(.badRequest, "the multipart body does not contain its boundary")
        }
        cursor = first.upperBound
        while true {
            // After a delimiter: "--" ends the body, otherwise CRLF and a part follow.
            if bytes[cursor...].starts(with: Data("--".utf8)) { break }
            guard bytes[cursor...].starts(with: Data("\r\n".utf8)) else { throw ServiceError(.badRequest, "malformed multipart body") }
            cursor += 2
            guard let headerEnd = bytes.range(of: Data("\r\n\r\n".utf8), in: cursor..<bytes.endIndex) else {
                throw ServiceError(.badRequest, "a multipart part has no end of headers")
            }
            let headers = String(decoding: bytes[cursor..<headerEnd.lowerBound], as: UTF8.self)
            cursor = headerEnd.upperBound
            guard let next = bytes.range(of: Data("\r\n".utf8) + delimiter, in: cursor..<bytes.endIndex) else {
                throw ServiceError(.badRequest, "a multipart part is not terminated (truncated body?)")
            }
            var part = Part(name: "", filename: nil, contentType: nil, data: Data(bytes[cursor..<next.lowerBound]))
            for line in headers.components(separatedBy: "\r\n") {
                let lower = line.lowercased()
                if lower.hasPrefix("content-disposition:") {
                    part.name = Self.parameter("name", in: line) ?? ""
                    part.filename = Self.parameter("filename", in: line)
                } else if lower.hasPrefix("content-type:") {
                    part.contentType = line.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces)
                }
            }
            parts.append(part)
            cursor = next.upperBound
        }
    }

    static func parameter(_ name: String, in line: String) -> String? {
        for piece in line.split(separator: ";") {
            let item = piece.trimmingCharacters(in: .whitespaces)
            if item.hasPrefix(name + "=") {
                return String(item.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }
}
