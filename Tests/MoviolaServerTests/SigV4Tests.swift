import Foundation
import MoviolaServer
import Testing

/// The SigV4 signer against botocore's results (Tests/Fixtures/sigv4.json, from tools/fixtures/make_sigv4_fixtures.py).
@Suite("SigV4 signing matches botocore")
struct SigV4Tests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let method: String
            let url: String
            let headers: [String: String]
            let body: String
            let expected: [String: String]
        }
        struct Presigned: Decodable {
            let url: String
            let expires: Int
            let expected: String
        }
        let access_key: String
        let secret_key: String
        let region: String
        let time: String
        let cases: [Case]
        let presigned: [Presigned]
    }

    static func load() throws -> Fixture {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sigv4.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: path))
    }

    static var date: Date {
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute, components.second) = (2026, 1, 2, 3, 4, 5)
        components.timeZone = TimeZone(identifier: "UTC")
        return Calendar(identifier: .gregorian).date(from: components)!
    }

    @Test("signed headers equal botocore's for PUT, GET, HEAD, DELETE and queries")
    func headers() throws {
        let fixture = try Self.load()
        let signer = SigV4Signer(accessKey: fixture.access_key, secretKey: fixture.secret_key, region: fixture.region)
        for item in fixture.cases {
            let signed = signer.sign(method: item.method, url: URL(string: item.url)!, headers: item.headers,
                                     payload: Data(item.body.utf8), date: Self.date)
            #expect(signed == item.expected, "\(item.name)")
        }
    }

    @Test("presigned URLs equal botocore's")
    func presigned() throws {
        let fixture = try Self.load()
        let signer = SigV4Signer(accessKey: fixture.access_key, secretKey: fixture.secret_key, region: fixture.region)
        for item in fixture.presigned {
            #expect(signer.presign(url: URL(string: item.url)!, expires: item.expires, date: Self.date).absoluteString == item.expected)
        }
    }

    @Test("object keys are encoded as SigV4 expects")
    func keyEncoding() {
        #expect(SigV4Signer.encode("inputs/a b+c/ü~x.png", keepSlash: true) == "inputs/a%20b%2Bc/%C3%BC~x.png")
        #expect(SigV4Signer.encode("a/b", keepSlash: false) == "a%2Fb")
    }
}
