import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// AWS Signature Version 4 for S3-compatible services: signed headers and presigned URLs.
public struct SigV4Signer: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var region: String
    public var service = "s3"

    public init(accessKey: String, secretKey: String, region: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
    }

    /// RFC 3986 unreserved characters stay; everything else is %XX (UTF-8), as SigV4 requires.
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    static func stamps(_ date: Date) -> (time: String, day: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let time = formatter.string(from: date)
        return (time, String(time.prefix(8)))
    }

    /// The query of `url` in canonical form: decoded, re-encoded, sorted.
    static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded: [(key: String, value: String)] = items.map { item in
            (key: encode(item.0, keepSlash: false), value: encode(item.1, keepSlash: false))
        }
        let sorted = encoded.sorted { a, b in a.key == b.key ? a.value < b.value : a.key < b.key }
        let pairs: [String] = sorted.map { pair in pair.key + "=" + pair.value }
        return pairs.joined(separator: "&")
    }

    static func queryItems(_ url: URL) -> [(String, String)] {
        (URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }
    }

    static func hostHeader(_ url: URL) -> String {
        let host = url.host ?? ""
        guard let port = url.port else { return host }
        let standard = (url.scheme == "https" && port == 443) || (url.scheme == "http" && port == 80)
        return standard ? host : "\(host):\(port)"
    }

    func signature(stringToSign: String, day: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    /// The headers to add to a request (`authorization`, `x-amz-date`, `x-amz-content-sha256`);
    /// `headers` are the request's other headers, all of which are signed.
    public func sign(method: String, url: URL, headers: [String: String], payload: Data, date: Date = Date()) -> [String: String] {
        let (time, day) = Self.stamps(date)
        let payloadHash = Self.sha256Hex(payload)
        var signed: [String: String] = [:]
        for (name, value) in headers { signed[name.lowercased()] = value.trimmingCharacters(in: .whitespaces) }
        signed["host"] = Self.hostHeader(url)
        signed["x-amz-date"] = time
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonical = [
            method, url.path.isEmpty ? "/" : (URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"),
            Self.canonicalQuery(Self.queryItems(url)),
            names.map { "\($0):\(signed[$0]!)\n" }.joined(),
            names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(time)\n\(scope)\n\(Self.sha256Hex(Data(canonical.utf8)))"
        return [
            "authorization": "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature(stringToSign: stringToSign, day: day))",
            "x-amz-date": time,
            "x-amz-content-sha256": payloadHash,
        ]
    }

    /// A GET URL anyone can use until it expires (`expires` seconds, at most 7 days).
    public func presign(url: URL, expires: Int, date: Date = Date()) -> URL {
        let (time, day) = Self.stamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        var items = Self.queryItems(url)
        items += [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKey)/\(scope)"), ("X-Amz-Date", time),
                  ("X-Amz-Expires", String(min(604_800, max(1, expires)))), ("X-Amz-SignedHeaders", "host")]
        let query = Self.canonicalQuery(items)
        let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"
        let canonical = ["GET", path.isEmpty ? "/" : path, query, "host:\(Self.hostHeader(url))\n", "host", "UNSIGNED-PAYLOAD"]
            .joined(separator: "\n")
        let stringToSign = "AWS4-HMAC-SHA256\n\(time)\n\(scope)\n\(Self.sha256Hex(Data(canonical.utf8)))"
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = query + "&X-Amz-Signature=" + signature(stringToSign: stringToSign, day: day)
        return components.url!
    }
}

/// Objects in an S3-compatible bucket (AWS, MinIO, Garage, Ceph, …), path-style, signed with SigV4.
/// Files are fetched into a local cache folder when the server needs to read them.
public struct S3Storage: ObjectStorage {
    public let endpoint: URL
    public let bucket: String
    public let signer: SigV4Signer
    let cacheDirectory: String
    private let session: URLSession

    /// `s3://BUCKET?endpoint=http://host:port&region=us-east-1` with credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    public init(url: String, cacheDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), components.scheme == "s3", let bucket = components.host, !bucket.isEmpty else {
            throw ServiceError(.badRequest, "--storage must look like s3://BUCKET?endpoint=http://host:9000&region=us-east-1")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let region = query["region"] ?? environment["AWS_REGION"] ?? "us-east-1"
        let endpointText = query["endpoint"] ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), endpoint.scheme == "http" || endpoint.scheme == "https", endpoint.host != nil else {
            throw ServiceError(.badRequest, "the S3 endpoint \(endpointText) is not an http(s) URL")
        }
        guard let access = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !access.isEmpty, !secret.isEmpty else {
            throw ServiceError(.badRequest, "S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        signer = SigV4Signer(accessKey: access, secretKey: secret, region: region)
        self.cacheDirectory = cacheDirectory
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        session = URLSession(configuration: configuration)
    }

    public var displayName: String { "S3 bucket \(bucket) at \(endpoint.absoluteString)" }

    func objectURL(_ key: String) throws -> URL {
        guard !key.isEmpty, !key.contains("..") else { throw ServiceError(.badRequest, "invalid storage key \(key)") }
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        let base = components.percentEncodedPath.hasSuffix("/") ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath
        components.percentEncodedPath = base + "/" + SigV4Signer.encode(bucket, keepSlash: false) + "/" + SigV4Signer.encode(key, keepSlash: true)
        return components.url!
    }

    func send(_ method: String, _ key: String, body: Data = Data(), contentType: String? = nil) async throws -> (Data, HTTPURLResponse) {
        let url = try objectURL(key)
        var request = URLRequest(url: url)
        request.httpMethod = method
        var headers: [String: String] = [:]
        if let contentType { headers["content-type"] = contentType }
        for (name, value) in headers.merging(signer.sign(method: method, url: url, headers: headers, payload: body), uniquingKeysWith: { $1 }) {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if !body.isEmpty { request.httpBody = body }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw ServiceError(.unavailable, "S3 gave no HTTP response") }
        return (data, http)
    }

    func check(_ http: HTTPURLResponse, _ data: Data, _ what: String) throws {
        guard (200..<300).contains(http.statusCode) else {
            let text = String(decoding: data.prefix(400), as: UTF8.self)
            let code = text.range(of: "<Code>").flatMap { start in text.range(of: "</Code>").map { String(text[start.upperBound..<$0.lowerBound]) } }
            throw ServiceError(.unavailable, "S3 \(what) failed with HTTP \(http.statusCode)\(code.map { " (\($0))" } ?? "")")
        }
    }

    public func put(key: String, file source: URL, contentType: String) async throws {
        try await put(key: key, data: try Data(contentsOf: source), contentType: contentType)
    }

    public func put(key: String, data: Data, contentType: String) async throws {
        let (body, response) = try await send("PUT", key, body: data, contentType: contentType)
        try check(response, body, "PUT \(key)")
        let cached = (cacheDirectory as NSString).appendingPathComponent(key)
        try? FileManager.default.createDirectory(atPath: (cached as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? data.write(to: URL(fileURLWithPath: cached), options: .atomic)
    }

    public func localPath(key: String) async throws -> String {
        let cached = (cacheDirectory as NSString).appendingPathComponent(key)
        if FileManager.default.fileExists(atPath: cached) { return cached }
        let (body, response) = try await send("GET", key)
        if response.statusCode == 404 { throw ServiceError(.notFound, "the stored file \(key) is missing from the bucket") }
        try check(response, body, "GET \(key)")
        try FileManager.default.createDirectory(atPath: (cached as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try body.write(to: URL(fileURLWithPath: cached), options: .atomic)
        return cached
    }

    public func size(key: String) async throws -> Int? {
        let (body, response) = try await send("HEAD", key)
        if response.statusCode == 404 { return nil }
        try check(response, body, "HEAD \(key)")
        return (response.value(forHTTPHeaderField: "Content-Length")).flatMap(Int.init)
    }

    public func delete(key: String) async throws {
        let (body, response) = try await send("DELETE", key)
        if response.statusCode != 404 { try check(response, body, "DELETE \(key)") }
        try? FileManager.default.removeItem(atPath: (cacheDirectory as NSString).appendingPathComponent(key))
    }
}
