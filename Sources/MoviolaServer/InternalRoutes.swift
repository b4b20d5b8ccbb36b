import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MoviolaStore
import MoviolaWorker
import NIOCore

/// The internal API remote workers pull work through (`moviola worker --server URL --token T`).
/// Every route needs a worker-scope key; writes carry the job ticket and are fenced by it.
struct InternalRoutes: Sendable {
    let plane: ControlPlane
    let logger: Logger

    struct ClaimBody: Codable { var worker: String; var models: [String] }
    struct HeartbeatBody: Codable { var ticket: JobTicket; var progress: WorkProgress }
    struct FailBody: Codable { var ticket: JobTicket; var failure: WorkFailure }

    func register(on router: Router<MoviolaRequestContext>) {
        router.post("/internal/v1/jobs/claim") { request, context in
            await run(request, context) { body in
                let claim = try decode(ClaimBody.self, body)
                guard let assignment = try await plane.claim(worker: claim.worker, models: claim.models) else {
                    return Response(status: .noContent)
                }
                return try encode(assignment)
            }
        }
        router.get("/internal/v1/jobs/wait") { request, context in
            await run(request, context) { _ in
                let seconds = min(30, max(1, Int(request.uri.queryParameters["timeout"] ?? "20") ?? 20))
                await plane.jobsPulse.wait(timeout: .seconds(seconds))
                return Response(status: .noContent)
            }
        }
        router.post("/internal/v1/jobs/:id/heartbeat") { request, context in
            await run(request, context) { body in
                let beat = try decode(HeartbeatBody.self, body)
                let reply = try await plane.heartbeat(beat.ticket, progress: beat.progress)
                return try Routes.json(["reply": reply.rawValue])
            }
        }
        router.post("/internal/v1/jobs/:id/fail") { request, context in
            await run(request, context) { body in
                let failure = try decode(FailBody.self, body)
                try await plane.fail(failure.ticket, failure: failure.failure)
                return try Routes.json(["ok": true])
            }
        }
        router.post("/internal/v1/jobs/:id/complete") { request, context in
            await run(request, context, maxBody: 2 << 30) { body in
                guard let ticketHeader = request.headers[HTTPField.Name("X-Moviola-Ticket")!],
                      let reportHeader = request.headers[HTTPField.Name("X-Moviola-Report")!],
                      let ticketData = Data(base64Encoded: ticketHeader), let reportData = Data(base64Encoded: reportHeader) else {
                    throw ServiceError(.badRequest, "complete needs X-Moviola-Ticket and X-Moviola-Report headers (base64 JSON)")
                }
                let ticket = try decode(JobTicket.self, ticketData)
                let report = try decode(RenderReport.self, reportData)
                guard !body.isEmpty else { throw ServiceError(.badRequest, "complete needs the MP4 as the request body") }
                let file = URL(fileURLWithPath: plane.scratchDirectory).appendingPathComponent("upload-\(ticket.jobID)-\(ticket.attempt)-\(UUID().uuidString).mp4")
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try body.write(to: file)
                defer { try? FileManager.default.removeItem(at: file) }
                try await plane.complete(ticket, video: file, report: report)
                let state = try await plane.store.generation(id: ticket.generationID)?.state.rawValue ?? "unknown"
                return try Routes.json(["state": state])
            }
        }
    }

    func run(_ request: Request, _ context: MoviolaRequestContext, maxBody: Int = 32 << 20,
             _ body: (Data) async throws -> Response) async -> Response {
        do {
            guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
                  let key = try await plane.store.apiKey(secret: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)),
                  key.scope == "worker" else {
                throw ServiceError(.unauthorized, "the worker API needs a worker token (create one with `moviola admin keys create --worker`)")
            }
            var request = request
            let data = Data(try await request.collectBody(upTo: maxBody).readableBytesView)
            return try await body(data)
        } catch let error as StaleLeaseError {
            return (try? Routes.errorResponse(ServiceError(.conflict, error.description))) ?? Response(status: .conflict)
        } catch let error as ServiceError {
            return (try? Routes.errorResponse(error)) ?? Response(status: .internalServerError)
        } catch is NIOTooManyBytesError {
            return (try? Routes.errorResponse(ServiceError(.tooLarge, "the request body is over the limit"))) ?? Response(status: .contentTooLarge)
        } catch {
            logger.error("internal API request failed: \(error)")
            return (try? Routes.errorResponse(ServiceError(.internal, "\(error)"))) ?? Response(status: .internalServerError)
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ServiceError(.badRequest, "cannot read the \(T.self): \(error)")
        }
    }

    func encode<T: Encodable>(_ value: T) throws -> Response {
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
        response.headers[.contentType] = "application/json"
        return response
    }
}
