import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The internal worker API of a Moviola server, over HTTP with a worker token.
public struct HTTPJobSource: JobSource {
    public let server: URL
    public let token: String
    public let models: [String]
    private let session: URLSession

    public init(server: URL, token: String, models: [String]) {
        self.server = server
        self.token = token
        self.models = models
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        configuration.timeoutIntervalForResource = 3600
        session = URLSession(configuration: configuration)
    }

    struct ServerError: Error, CustomStringConvertible {
        var status: Int
        var message: String
        var description: String { "the server answered \(status): \(message)" }
    }

    private func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:],
                      timeout: TimeInterval = 120) async throws -> (Data, Int) {
        var request = URLRequest(url: server.appendingPathComponent(path))
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if body != nil { request.setValue(headers["Content-Type"] ?? "application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers where name != "Content-Type" { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 409 { throw StaleLeaseError(JobTicket(jobID: path, generationID: "", attempt: 0, worker: "")) }
        guard (200..<300).contains(status) else {
            let message = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])
                .flatMap { ($0["error"] as? [String: Any])?["message"] as? String } ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw ServerError(status: status, message: message)
        }
        return (data, status)
    }

    public func claim(worker: String) async throws -> WorkAssignment? {
        let body = try JSONSerialization.data(withJSONObject: ["worker": worker, "models": models])
        let (data, status) = try await send("POST", "internal/v1/jobs/claim", body: body)
        if status == 204 { return nil }
        return try JSONDecoder().decode(WorkAssignment.self, from: data)
    }

    public func heartbeat(_ ticket: JobTicket, progress: WorkProgress) async throws -> HeartbeatReply {
        struct Body: Encodable { var ticket: JobTicket; var progress: WorkProgress }
        let (data, _) = try await send("POST", "internal/v1/jobs/\(ticket.jobID)/heartbeat",
                                       body: try JSONEncoder().encode(Body(ticket: ticket, progress: progress)))
        struct Reply: Decodable { var reply: HeartbeatReply }
        return try JSONDecoder().decode(Reply.self, from: data).reply
    }

    public func complete(_ ticket: JobTicket, video: URL, report: RenderReport) async throws {
        let file = try Data(contentsOf: video)
        do {
            _ = try await send("POST", "internal/v1/jobs/\(ticket.jobID)/complete", body: file, headers: [
                "Content-Type": "video/mp4",
                "X-Moviola-Ticket": try JSONEncoder().encode(ticket).base64EncodedString(),
                "X-Moviola-Report": try JSONEncoder().encode(report).base64EncodedString(),
            ], timeout: 600)
        } catch is StaleLeaseError {
            throw StaleLeaseError(ticket)
        }
    }

    public func fail(_ ticket: JobTicket, failure: WorkFailure) async throws {
        struct Body: Encodable { var ticket: JobTicket; var failure: WorkFailure }
        do {
            _ = try await send("POST", "internal/v1/jobs/\(ticket.jobID)/fail", body: try JSONEncoder().encode(Body(ticket: ticket, failure: failure)))
        } catch is StaleLeaseError {
            throw StaleLeaseError(ticket)
        }
    }

    public func waitForWork() async throws {
        _ = try await send("GET", "internal/v1/jobs/wait", timeout: 60)
        try Task.checkCancellation()
    }
}
