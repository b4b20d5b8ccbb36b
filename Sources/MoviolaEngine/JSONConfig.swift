import Foundation

/// Reads a diffusers/transformers `config.json`-style file into a `Decodable` type. Unknown keys
/// are ignored; a missing file, invalid JSON or a wrongly typed field names the file and the key.
enum JSONConfig {
    static func load<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError("\(path): file not found")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError("\(path): cannot read file")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(expected, context) {
            throw EngineError("\(path): \(keyPath(context)) should be \(describe(expected))")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw EngineError("\(path): \(keyPath(context)) is null, expected \(describe(expected))")
        } catch let DecodingError.keyNotFound(key, _) {
            throw EngineError("\(path): required key \(key.stringValue) is missing")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty { throw EngineError("\(path): not valid JSON") }
            throw EngineError("\(path): \(keyPath(context)): \(context.debugDescription)")
        } catch let error as EngineError {
            throw EngineError("\(path): \(error.message)")
        }
    }

    private static func keyPath(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }
}

/// A `KeyedDecodingContainer` helper that takes a default for absent or null keys.
extension KeyedDecodingContainer {
    func value<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}
