import Crypto
import Foundation
@testable import MoviolaServer
import Testing

@Suite("Credentials")
struct AccessTests {
    @Test("bcrypt hashes verify only the right password and are salted")
    func bcrypt() throws {
        let hash = try PasswordHasher.hash("correct horse battery", cost: 10)
        #expect(hash.hasPrefix("$2b$10$") && hash.count == 60)
        #expect(PasswordHasher.verify("correct horse battery", hash: hash))
        #expect(!PasswordHasher.verify("correct horse batterz", hash: hash))
        #expect(try PasswordHasher.hash("correct horse battery", cost: 10) != hash)
        #expect(!PasswordHasher.verify("x", hash: "not a hash"))
        // crypt_blowfish's reference vector.
        #expect(PasswordHasher.verify("U*U", hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
        #expect(throws: ServiceError.self) { try PasswordHasher.check("short") }
    }

    func token(_ claims: [String: Any], secret: String, alg: String = "HS256") -> String {
        func b64(_ d: Data) -> String {
            d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let header = b64(try! JSONSerialization.data(withJSONObject: ["alg": alg, "typ": "JWT"]))
        let payload = b64(try! JSONSerialization.data(withJSONObject: claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "\(header).\(payload).\(b64(Data(mac)))"
    }

    @Test("Kling JWTs: signature, expiry and not-before are checked")
    func jwt() throws {
        let now = 1_800_000_000.0
        let good = token(["iss": "AK1", "exp": now + 1800, "nbf": now - 5], secret: "SK")
        #expect(try KlingJWT.verify(good, secret: "SK", now: now).issuer == "AK1")
        #expect(throws: KlingJWT.Failure.badSignature) { try KlingJWT.verify(good, secret: "other", now: now) }
        #expect(throws: KlingJWT.Failure.expired(now - 100)) {
            try KlingJWT.verify(token(["iss": "AK1", "exp": now - 100], secret: "SK"), secret: "SK", now: now)
        }
        #expect(throws: KlingJWT.Failure.notYetValid(now + 600)) {
            try KlingJWT.verify(token(["iss": "AK1", "exp": now + 1800, "nbf": now + 600], secret: "SK"), secret: "SK", now: now)
        }
        #expect(throws: KlingJWT.Failure.self) { try KlingJWT.verify(token(["iss": "AK1", "exp": now + 10], secret: "SK", alg: "none"), secret: "SK", now: now) }
        #expect(throws: KlingJWT.Failure.self) { try KlingJWT.verify(token(["iss": "AK1"], secret: "SK"), secret: "SK", now: now) }
        #expect(throws: KlingJWT.Failure.self) { try KlingJWT.verify("a.b", secret: "SK", now: now) }
    }

    @Test("webhook signatures are HMAC-SHA256 over timestamp.body")
    func webhookSignature() {
        let signature = WebhookDispatcher.signature(secret: "whsec_test", timestamp: 1_700_000_000, body: "{\"a\":1}")
        let mac = HMAC<SHA256>.authenticationCode(for: Data("1700000000.{\"a\":1}".utf8), using: SymmetricKey(data: Data("whsec_test".utf8)))
        #expect(signature == "t=1700000000,v1=" + mac.map { String(format: "%02x", $0) }.joined())
    }

    @Test("multipart forms: fields and files; truncated bodies are refused")
    func multipart() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na red ball\r\n--XyZ\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\r\n--XyZ--\r\n"
        let form = try MultipartForm(body: Data(body.utf8), contentType: "multipart/form-data; boundary=XyZ")
        #expect(form["prompt"]?.text == "a red ball")
        #expect(form["input_reference"]?.data == Data([1, 2]) && form["input_reference"]?.filename == "a.png")
        #expect(throws: ServiceError.self) { try MultipartForm(body: Data(body.utf8).prefix(60), contentType: "multipart/form-data; boundary=XyZ") }
        #expect(throws: ServiceError.self) { try MultipartForm(body: Data(body.utf8), contentType: "multipart/form-data") }
    }

    @Test("webhook URLs on private networks are refused unless allowed")
    func webhookURLs() throws {
        #expect(throws: ServiceError.self) { try WebhookURL.check("http://127.0.0.1/x", allowPrivate: false, field: "u") }
        #expect(throws: ServiceError.self) { try WebhookURL.check("http://10.1.2.3/x", allowPrivate: false, field: "u") }
        #expect(throws: ServiceError.self) { try WebhookURL.check("ftp://example.com/x", allowPrivate: true, field: "u") }
        try WebhookURL.check("http://127.0.0.1:9/x", allowPrivate: true, field: "u")
        try WebhookURL.check("https://93.184.216.34/hook", allowPrivate: false, field: "u")
    }
}
