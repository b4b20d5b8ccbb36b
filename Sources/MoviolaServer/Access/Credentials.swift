import CCrypt
import Crypto
import Foundation

/// Password hashing with bcrypt (`$2b$`, libxcrypt), run off the request's hot path by the caller.
public enum PasswordHasher {
    /// 2^cost rounds; 11 takes about 0.1 s on one core.
    public static let defaultCost = 11

    public static func hash(_ password: String, cost: Int = defaultCost) throws -> String {
        var random = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in random.indices { random[i] = UInt8.random(in: 0...255, using: &generator) }
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let made = random.withUnsafeBufferPointer { bytes in
            crypt_gensalt_rn("$2b$", UInt(cost), bytes.baseAddress, Int32(bytes.count), &salt, Int32(salt.count))
        }
        guard made != nil else { throw ServiceError(.internal, "bcrypt salt generation failed (errno \(errno))") }
        let result = try crypt(password, setting: String(cString: salt))
        guard result.hasPrefix("$2b$") else { throw ServiceError(.internal, "bcrypt is not available in this system's libcrypt") }
        return result
    }

    /// Compares in constant time; false for malformed hashes.
    public static func verify(_ password: String, hash: String) -> Bool {
        guard hash.hasPrefix("$2"), let computed = try? crypt(password, setting: hash) else { return false }
        let a = Array(computed.utf8), b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func crypt(_ password: String, setting: String) throws -> String {
        var data = crypt_data()
        return try withUnsafeMutablePointer(to: &data) { pointer -> String in
            guard let out = crypt_r(password, setting, pointer) else { throw ServiceError(.internal, "crypt_r failed (errno \(errno))") }
            let text = String(cString: out)
            // libxcrypt answers "*0"/"*1" for an invalid setting.
            guard !text.hasPrefix("*") else { throw ServiceError(.internal, "crypt_r refused the setting") }
            return text
        }
    }

    /// Sign-up rules: 10 to 72 bytes (bcrypt reads at most 72), not only one repeated character.
    public static func check(_ password: String) throws {
        guard password.count >= 10 else { throw ServiceError(.badRequest, "the password must have at least 10 characters", field: "password") }
        guard password.utf8.count <= 72 else { throw ServiceError(.badRequest, "the password must be at most 72 bytes (bcrypt's limit)", field: "password") }
        guard Set(password).count > 2 else { throw ServiceError(.badRequest, "the password is too simple: use more different characters", field: "password") }
    }
}

/// Seals secrets the server must read again (Kling-style secret keys, needed to check JWT signatures)
/// with AES-GCM under a key kept in the data folder.
public struct SecretBox: Sendable {
    let key: SymmetricKey

    public init(keyFile path: String) throws {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw ServiceError(.internal, "\(path) is not a 32-byte key") }
            key = SymmetricKey(data: data)
        } else {
            let fresh = SymmetricKey(size: .bits256)
            let data = fresh.withUnsafeBytes { Data($0) }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ServiceError(.internal, "cannot write the secrets key \(path)")
            }
            key = fresh
        }
    }

    public func seal(_ text: String) throws -> String {
        try AES.GCM.seal(Data(text.utf8), using: key).combined!.base64EncodedString()
    }

    public func open(_ sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw ServiceError(.internal, "a sealed secret is not base64") }
        return String(decoding: try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key), as: UTF8.self)
    }

    /// An HMAC key derived for one purpose (e.g. signing download links).
    public func derivedKey(_ purpose: String) -> SymmetricKey {
        SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: key))
    }
}

/// HS256 JSON Web Tokens as Kling's API uses them: `iss` = access key, `exp`, `nbf`.
public enum KlingJWT {
    public struct Claims: Sendable {
        public var issuer: String
        public var expires: Double?
        public var notBefore: Double?
    }

    /// Why a token was refused; each maps to one of Kling's auth codes.
    public enum Failure: Error, Sendable, Equatable {
        case malformed(String)
        case badSignature
        case notYetValid(Double)
        case expired(Double)
    }

    /// Reads the claims without checking the signature (to find the access key).
    public static func claims(_ token: String) throws -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Failure.malformed("a JWT has three dot-separated parts") }
        guard let headerData = base64URL(parts[0]), let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw Failure.malformed("the JWT header is not base64url JSON")
        }
        guard header["alg"] as? String == "HS256" else { throw Failure.malformed("the JWT must be signed with HS256, not \(header["alg"] ?? "nothing")") }
        guard let payloadData = base64URL(parts[1]), let payload = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            throw Failure.malformed("the JWT payload is not base64url JSON")
        }
        guard let issuer = payload["iss"] as? String, !issuer.isEmpty else { throw Failure.malformed("the JWT has no iss (your access key)") }
        return Claims(issuer: issuer, expires: (payload["exp"] as? NSNumber)?.doubleValue, notBefore: (payload["nbf"] as? NSNumber)?.doubleValue)
    }

    /// Checks signature and times (30 s of clock skew allowed); tokens must expire within a day.
    public static func verify(_ token: String, secret: String, now: Double) throws -> Claims {
        let claims = try claims(token)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard let signature = base64URL(parts[2]) else { throw Failure.malformed("the JWT signature is not base64url") }
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signed, using: SymmetricKey(data: Data(secret.utf8))) else {
            throw Failure.badSignature
        }
        guard let expires = claims.expires else { throw Failure.malformed("the JWT has no exp; tokens must be short-lived") }
        if expires < now - 30 { throw Failure.expired(expires) }
        if expires > now + 86_400 { throw Failure.malformed("the JWT expires more than a day from now; mint short-lived tokens") }
        if let notBefore = claims.notBefore, notBefore > now + 30 { throw Failure.notYetValid(notBefore) }
        return claims
    }

    static func base64URL(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
