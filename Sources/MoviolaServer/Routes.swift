import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MoviolaStore
import MoviolaWorker
import NIOCore
import ServiceLifecycle

/// Per-request context: the authenticated account, and the upload limit.
public struct MoviolaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) { coreContext = .init(source: source) }
    /// Bodies over this are refused with 413 (a first-frame image in base64 fits well within it).
    public var maxUploadSize: Int { 32 << 20 }
}

/// How API requests are authenticated.
public enum APIAccess: Sendable {
    /// Anyone who can reach the port (the default on a loopback address); a key, if sent, must still be valid.
    case open
    /// Every request needs `Authorization: Bearer <API key>`.
    case keys
}

/// The HTTP surface: the native API under `/api/v1`, the internal worker API under `/internal/v1`,
/// and operations endpoints.
struct Routes: Sendable {
    let plane: ControlPlane
    let access: AccessControl
    let logger: Logger
    /// How clients reach this server (for absolute links such as Kling's video URLs).
    let baseURL: @Sendable () -> String
    var publicBaseURL: String { baseURL() }
    let startedAt = Date()

    var store: Store { plane.store }

    func register(on router: Router<MoviolaRequestContext>) {
        router.get("/healthz") { _, _ in Self.text("ok\n") }
        router.get("/readyz") { _, _ in await ready() }
        router.get("/metrics") { _, _ in await metrics() }
        router.get("/api/v1/openapi.yaml") { _, _ in openAPI() }

        router.post("/api/v1/generations") { request, context in
            await handle { try await create(request, context) }
        }
        router.get("/api/v1/generations") { request, _ in
            await handle { try await list(request) }
        }
        router.get("/api/v1/generations/:id") { request, context in
            await handle { try await show(request, context) }
        }
        router.post("/api/v1/generations/:id/cancel") { request, context in
            await handle { try await cancel(request, context) }
        }
        router.delete("/api/v1/generations/:id") { request, context in
            await handle { try await delete(request, context) }
        }
        router.get("/api/v1/generations/:id/video") { request, context in
            await handle { try await download(request, context) }
        }
        router.get("/api/v1/generations/:id/receipt") { request, context in
            await handle { try await receipt(request, context) }
        }
        router.get("/api/v1/generations/:id/events") { request, context in
            await handle { try await events(request, context) }
        }
        router.post("/api/v1/estimate") { request, context in
            await handle { try await estimate(request, context) }
        }
        router.get("/api/v1/models") { request, _ in
            await handle {
                _ = try await account(request)
                return try Self.json(["data": plane.catalogue.models.map { $0.capabilities }])
            }
        }
        router.get("/api/v1/models/:name") { request, context in
            await handle {
                _ = try await account(request)
                let name = try context.parameters.require("name")
                guard let model = plane.catalogue.models.first(where: { $0.name == name }) else {
                    throw ServiceError(.notFound, "no model named \(name); installed: \(plane.catalogue.models.map(\.name).joined(separator: ", "))")
                }
                return try Self.json(model.capabilities)
            }
        }
        InternalRoutes(plane: plane, logger: logger).register(on: router)
        registerAccounts(on: router)
        registerOpenAI(on: router)
        registerKling(on: router)
        registerWeb(on: router)
    }

    // MARK: native API

    func account(_ request: Request) async throws -> String {
        try await access.principal(request).account
    }

    /// The generation, if the principal may see it (its owner, an admin, or the open loopback operator).
    func owned(_ id: String, _ principal: Principal) async throws -> GenerationRecord {
        guard let generation = try await store.generation(id: id), generation.deletedAt == nil,
              generation.account == principal.account || principal.isAdmin else {
            throw ServiceError(.notFound, "no generation \(id)", klingCode: 1203, code: "not_found")
        }
        return generation
    }

    func owned(_ id: String, account request: Request) async throws -> GenerationRecord {
        try await owned(id, access.principal(request))
    }

    /// Starts a generation for a principal with its limits; the real-name requirement applies to accounts.
    func start(_ body: CreateGenerationBody, _ principal: Principal, idempotencyKey: String?, externalTaskID: String? = nil,
               callbackURL: String? = nil, flavor: String, remixOf: String? = nil) async throws -> (GenerationRecord, Bool) {
        if access.settings.requireRealName, let record = principal.record, record.realNameState != "verified" {
            throw ServiceError(.forbidden, record.realNameState == "pending"
                ? "your real-name details are waiting for an operator's check; you can generate once they are verified"
                : "this service requires real-name verification before generating: submit your name and ID number on your account page",
                klingCode: 1103, code: "real_name_required")
        }
        if let callbackURL { try WebhookURL.check(callbackURL, allowPrivate: access.settings.allowPrivateWebhooks, field: "callback_url") }
        return try await plane.create(body, account: principal.account, idempotencyKey: idempotencyKey,
                                      options: CreateOptions(admission: access.admission(principal), externalTaskID: externalTaskID,
                                                             callbackURL: callbackURL, flavor: flavor, remixOf: remixOf))
    }

    func create(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let body = try await Self.body(request, context)
        let parsed = try CreateGenerationBody(json: body)
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let key, key.isEmpty || key.count > 255 {
            throw ServiceError(.badRequest, "Idempotency-Key must be 1 to 255 characters")
        }
        let callback = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["callback_url"] as? String
        let (generation, created) = try await start(parsed, principal, idempotencyKey: key, callbackURL: callback, flavor: "native")
        var document = try await representation(generation)
        if !created { document["idempotent_replay"] = true }
        var response = try Self.json(document, status: created ? .created : .ok)
        response.headers[.location] = "/api/v1/generations/\(generation.id)"
        return response
    }

    func estimate(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        _ = try await account(request)
        let body = try await Self.body(request, context)
        return try Self.json(try await plane.estimate(CreateGenerationBody(json: body)))
    }

    func show(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let generation = try await owned(context.parameters.require("id"), account: request)
        return try Self.json(try await representation(generation))
    }

    func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var limit = 20
        if let text = query["limit"] {
            guard let n = Int(text), (1...100).contains(n) else { throw ServiceError(.badRequest, "limit must be 1 to 100", field: "limit") }
            limit = n
        }
        var state: GenerationState?
        if let text = query["state"] {
            guard let s = GenerationState(rawValue: String(text)) else {
                throw ServiceError(.badRequest, "state must be one of \(GenerationState.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
            }
            state = s
        }
        var before: (Double, String)?
        if let cursor = query["after"] {
            guard let decoded = Data(base64Encoded: String(cursor)).map({ String(decoding: $0, as: UTF8.self) }),
                  let bar = decoded.firstIndex(of: "|"), let time = Double(decoded[..<bar]) else {
                throw ServiceError(.badRequest, "after is not a cursor this server issued", field: "after")
            }
            before = (time, String(decoded[decoded.index(after: bar)...]))
        }
        let principal = try await access.principal(request)
        let everyone = principal.isAdmin && query["all"] == "true"
        let page = try await store.generations(account: principal.via == .open || everyone ? nil : principal.account, state: state,
                                               limit: limit + 1, before: before)
        var items: [[String: Any]] = []
        for generation in page.prefix(limit) { items.append(try await representation(generation, withQueuePosition: false)) }
        var next: Any = NSNull()
        if page.count > limit, let last = page.prefix(limit).last {
            next = Data("\(last.createdAt)|\(last.id)".utf8).base64EncodedString()
        }
        return try Self.json(["data": items, "has_more": page.count > limit, "next_cursor": next])
    }

    func cancel(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let generation = try await owned(context.parameters.require("id"), account: request)
        guard let after = try await store.requestCancel(generationID: generation.id) else { throw ServiceError(.notFound, "no generation \(generation.id)") }
        plane.eventsPulse.fire()
        if after.state == .succeeded || after.state == .failed {
            throw ServiceError(.conflict, "generation \(after.id) already \(after.state.rawValue); there is nothing to cancel")
        }
        return try Self.json(try await representation(after), status: .accepted)
    }

    func delete(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let generation = try await owned(context.parameters.require("id"), principal)
        try await remove(generation, principal)
        return try Self.json(["id": generation.id, "object": "generation.deleted", "deleted": true])
    }

    /// Deletes a generation for its user: cancels it if it is still going, removes the video, keeps the record.
    func remove(_ generation: GenerationRecord, _ principal: Principal) async throws {
        if !generation.state.isFinal {
            _ = try await store.requestCancel(generationID: generation.id)
            plane.eventsPulse.fire()
        }
        if let key = try await store.markDeleted(generationID: generation.id) { try await plane.storage.delete(key: key) }
        try await store.audit("generation.deleted", actor: principal.account, subject: generation.id, data: ["by": principal.via.rawValue])
    }

    func receipt(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let generation = try await owned(context.parameters.require("id"), account: request)
        guard let receipt = generation.receipt else {
            throw ServiceError(.conflict, "generation \(generation.id) is \(generation.state.rawValue); a receipt exists once it succeeds")
        }
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: receipt)))
        response.headers[.contentType] = "application/json"
        response.headers[.contentDisposition] = "attachment; filename=\"\(generation.id)-receipt.json\""
        return response
    }

    /// The finished MP4, with single-range support (206) for players and resumable downloads.
    func download(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let generation = try await owned(context.parameters.require("id"), principal)
        return try await serveVideo(generation, request, exportedBy: principal.account)
    }

    /// The video of a generation (ranges supported); a whole-file download is audit-logged as an export.
    func serveVideo(_ generation: GenerationRecord, _ request: Request, exportedBy account: String) async throws -> Response {
        if let deleted = generation.videoDeletedAt {
            var response = try Self.errorResponse(ServiceError(.notFound, "the video of \(generation.id) was deleted on \(JSON.iso8601(deleted)) under the operator's retention policy; its record and receipt remain"))
            response.status = .gone
            return response
        }
        guard generation.state == .succeeded, let key = generation.videoKey else {
            throw ServiceError(.conflict, "generation \(generation.id) is \(generation.state.rawValue); the video exists once it succeeds")
        }
        let path = try await plane.storage.localPath(key: key)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ServiceError(.internal, "cannot open the stored video") }
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        var range = 0..<size
        var status = HTTPResponse.Status.ok
        if let header = request.headers[.range] {
            guard let parsed = Self.parseRange(header, size: size) else {
                var response = try Self.errorResponse(ServiceError(.badRequest, "the Range \(header) cannot be satisfied for \(size) bytes"))
                response.status = .rangeNotSatisfiable
                response.headers[.contentRange] = "bytes */\(size)"
                return response
            }
            range = parsed
            status = .partialContent
        }
        if range.lowerBound == 0 {
            try await store.audit("video.exported", actor: account, subject: generation.id, data: ["produce_id": generation.produceID, "bytes": size])
        }
        try handle.seek(toOffset: UInt64(range.lowerBound))
        let data = try handle.read(upToCount: range.count) ?? Data()
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "video/mp4"
        response.headers[.acceptRanges] = "bytes"
        response.headers[.contentDisposition] = "attachment; filename=\"\(generation.produceID).mp4\""
        if let sha = generation.videoSHA256 { response.headers[.eTag] = "\"\(sha)\"" }
        if status == .partialContent { response.headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)" }
        return response
    }

    static func parseRange(_ header: String, size: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), !header.contains(","), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        let parts = spec.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return nil }
            return max(0, size - suffix)..<size
        }
        guard let start = Int(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : min(size - 1, Int(parts[1]) ?? -1)
        guard end >= start else { return nil }
        return start..<(end + 1)
    }

    /// Server-sent events: every logged event with its sequence number as the event ID (reconnect with
    /// `Last-Event-ID` to resume), queue positions while queued, and a final `result` with the generation.
    func events(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let generation = try await owned(context.parameters.require("id"), account: request)
        var after = 0
        if let last = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters["after"].map(String.init) {
            guard let n = Int(last), n >= 0 else { throw ServiceError(.badRequest, "Last-Event-ID must be an event number") }
            after = n
        }
        let plane = self.plane
        let routes = self
        let id = generation.id
        let start = after
        var response = Response(status: .ok, body: ResponseBody { writer in
            var cursor = start
            var lastPosition: Int?
            var lastKeepAlive = Date()
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let events = try await plane.store.events(generationID: id, after: cursor)
                var finished = false
                // One read of the generation per batch gives the ETA for its progress events.
                let snapshot = events.contains { $0.kind == "progress" } ? try await plane.store.generation(id: id) : nil
                for event in events {
                    var data = JSON.object(event.data)
                    if event.kind == "progress", let g = snapshot, let eta = routes.eta(g) {
                        data["eta_seconds"] = eta
                    }
                    let payload = String(decoding: try JSON.data(data), as: UTF8.self)
                    try await writer.write(ByteBuffer(string: "id: \(event.seq)\nevent: \(event.kind)\ndata: \(payload)\n\n"))
                    cursor = event.seq
                    if ["succeeded", "failed", "cancelled"].contains(event.kind) { finished = true }
                }
                guard let current = try await plane.store.generation(id: id) else { break }
                if finished || (current.state.isFinal && current.eventSeq <= cursor) {
                    let document = try await routes.representation(current)
                    try await writer.write(ByteBuffer(string: "event: result\ndata: \(String(decoding: try JSON.data(document), as: UTF8.self))\n\n"))
                    break
                }
                if current.state == .queued, let position = try await plane.store.queuePosition(generationID: id), position != lastPosition {
                    lastPosition = position
                    let eta = (Double(position) + 1) * (plane.averageSeconds() ?? 10)
                    try await writer.write(ByteBuffer(string: "event: queue\ndata: {\"eta_seconds\":\(Int(eta)),\"queue_position\":\(position)}\n\n"))
                }
                if Date().timeIntervalSince(lastKeepAlive) > 15 {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    lastKeepAlive = Date()
                }
                await plane.eventsPulse.wait(timeout: .seconds(1))
            }
            try await writer.finish(nil)
        })
        response.headers[.contentType] = "text/event-stream"
        response.headers[.cacheControl] = "no-cache"
        return response
    }

    /// Seconds left, from the pace so far.
    func eta(_ g: GenerationRecord) -> Int? {
        guard g.state == .running, let started = g.startedAt, g.stage == "denoising", g.step > 0, g.totalSteps > g.step else { return nil }
        let elapsed = Date().timeIntervalSince1970 - started
        return Int((elapsed / Double(g.step) * Double(g.totalSteps - g.step)).rounded()) + 1
    }

    /// The public JSON form of a generation.
    func representation(_ g: GenerationRecord, withQueuePosition: Bool = true) async throws -> [String: Any] {
        let spec = try? JSONDecoder().decode(GenerationSpec.self, from: Data(g.request.utf8))
        var document: [String: Any] = [
            "id": g.id, "object": "generation", "state": g.state.rawValue,
            "prompt": spec?.prompt ?? "", "negative_prompt": spec?.negativePrompt ?? "", "model": g.model,
            "produce_id": g.produceID, "priority": g.priority, "attempts": g.attempts,
            "created_at": JSON.iso8601(g.createdAt), "started_at": JSON.iso8601(g.startedAt), "finished_at": JSON.iso8601(g.finishedAt),
            "progress": [
                "stage": g.stage ?? g.state.rawValue, "step": g.step, "total_steps": g.totalSteps,
                "percent": g.state == .succeeded ? 100 : (g.stage == "denoising" && g.totalSteps > 0 ? Int(Double(g.step) / Double(g.totalSteps) * 90) : 0),
                "eta_seconds": eta(g) as Any? ?? NSNull(),
            ] as [String: Any],
            "events_url": "/api/v1/generations/\(g.id)/events",
            "error": g.errorCode.map { ["code": $0, "message": g.errorMessage ?? ""] as Any } ?? NSNull(),
            "video": NSNull(), "receipt": NSNull(),
        ]
        if let spec { document["settings"] = plane.settingsDocument(spec) }
        if g.state == .queued, withQueuePosition, let position = try await store.queuePosition(generationID: g.id) {
            document["queue_position"] = position
        }
        if let deleted = g.videoDeletedAt {
            document["video_deleted_at"] = JSON.iso8601(deleted)
            if let receipt = g.receipt { document["receipt"] = JSON.object(receipt) }
        } else if g.state == .succeeded {
            document["video"] = ["url": "/api/v1/generations/\(g.id)/video", "bytes": g.videoBytes ?? 0,
                                 "sha256": g.videoSHA256 ?? "", "content_type": "video/mp4"] as [String: Any]
            if let receipt = g.receipt { document["receipt"] = JSON.object(receipt) }
        }
        return document
    }

    // MARK: operations

    func ready() async -> Response {
        do {
            let stats = try await store.stats()
            return try Self.json(["status": "ready", "database": store.database.displayName, "storage": plane.storage.displayName,
                                  "models": plane.catalogue.models.map(\.name), "queued": stats.readyJobs, "running": stats.runningJobs])
        } catch {
            return (try? Self.json(["status": "not ready", "reason": "\(error)"], status: .serviceUnavailable)) ?? Response(status: .serviceUnavailable)
        }
    }

    func metrics() async -> Response {
        var gauges: [(name: String, help: String, labels: String, value: Double)] = []
        if let stats = try? await store.stats() {
            gauges.append(("moviola_queue_depth", "Jobs ready to run.", "", Double(stats.readyJobs)))
            gauges.append(("moviola_jobs_running", "Jobs held by a worker.", "", Double(stats.runningJobs)))
            gauges.append(("moviola_queue_oldest_seconds", "Age of the oldest ready job.", "", stats.oldestReadyAge ?? 0))
            for state in GenerationState.allCases {
                gauges.append(("moviola_generations", "Generations by state.", "{state=\"\(state.rawValue)\"}",
                               Double(stats.generationsByState[state.rawValue] ?? 0)))
            }
        }
        gauges.append(("moviola_uptime_seconds", "Seconds since the server started.", "", Date().timeIntervalSince(startedAt)))
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: plane.metrics.render(gauges: gauges))))
        response.headers[.contentType] = "text/plain; version=0.0.4"
        return response
    }

    func openAPI() -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources"),
              let data = try? Data(contentsOf: url) else { return Response(status: .notFound) }
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        response.headers[.contentType] = "application/yaml"
        return response
    }

    // MARK: helpers

    /// Which API's error envelope a handler answers with.
    enum Flavor: Sendable { case native, openai, kling }

    func handle(_ flavor: Flavor = .native, _ body: () async throws -> Response) async -> Response {
        let start = Date()
        defer { plane.metrics.observeRequest(seconds: Date().timeIntervalSince(start)) }
        let error: ServiceError
        var verdict: [String: Any]?
        do {
            return try await body()
        } catch let e as ServiceError {
            error = e
        } catch let refusal as PolicyRefusal {
            verdict = refusal.document
            error = ServiceError(.unprocessable, verdict?["message"] as? String ?? "refused by the content policy", klingCode: 1301, code: "policy_refused")
        } catch is NIOTooManyBytesError {
            error = ServiceError(.tooLarge, "the request body is over the 32 MB limit", klingCode: 1200)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            error = ServiceError(.tooLarge, "the request body is over the 32 MB limit", klingCode: 1200)
        } catch let e {
            logger.error("request failed: \(e)")
            error = ServiceError(.internal, "the server failed: \(e)", klingCode: 5000)
        }
        return (try? errorResponse(error, flavor: flavor, verdict: verdict)) ?? Response(status: .internalServerError)
    }

    func errorResponse(_ error: ServiceError, flavor: Flavor, verdict: [String: Any]? = nil) throws -> Response {
        let status = HTTPResponse.Status(code: error.kind.status)
        switch flavor {
        case .native:
            var detail: [String: Any] = ["code": error.code ?? error.kind.code, "message": error.message]
            if let field = error.field { detail["field"] = field }
            if let verdict { detail["verdict"] = verdict }
            return try Self.json(["error": detail], status: status)
        case .openai:
            let type: String
            switch error.kind {
            case .unauthorized: type = "authentication_error"
            case .forbidden: type = "permission_error"
            case .tooManyRequests: type = "rate_limit_error"
            case .internal, .unavailable: type = "server_error"
            case .notFound: type = "invalid_request_error"
            default: type = "invalid_request_error"
            }
            var detail: [String: Any] = ["message": error.message, "type": type, "param": error.field as Any? ?? NSNull(),
                                         "code": error.code ?? error.kind.code]
            if verdict != nil { detail["code"] = "moderation_blocked" }
            return try Self.json(["error": detail], status: status)
        case .kling:
            var code = error.klingCode ?? (error.kind == .badRequest ? 1200 : error.kind == .notFound ? 1203 : error.kind == .internal ? 5000 : 1200)
            if error.kind == .unauthorized && error.klingCode == nil { code = 1000 }
            // Kling's documented HTTP status for each code family.
            let klingStatus: HTTPResponse.Status
            switch code {
            case 1000...1004: klingStatus = .unauthorized
            case 1100...1102, 1302...1304: klingStatus = .tooManyRequests
            case 1103: klingStatus = .forbidden
            case 1202, 1203: klingStatus = .notFound
            case 1200, 1201, 1300, 1301: klingStatus = error.kind == .tooLarge ? .contentTooLarge : .badRequest
            case 5001: klingStatus = .serviceUnavailable
            default: klingStatus = status
            }
            return try Self.json(["code": code, "message": error.message, "request_id": Self.requestID(), "data": NSNull()], status: klingStatus)
        }
    }

    static func requestID() -> String { UUID().uuidString.lowercased() }

    static func body(_ request: Request, _ context: MoviolaRequestContext) async throws -> Data {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        return Data(buffer.readableBytesView)
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: try JSON.data(object))))
        response.headers[.contentType] = "application/json"
        return response
    }

    static func text(_ text: String) -> Response {
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "text/plain; charset=utf-8"
        return response
    }

    static func errorResponse(_ error: ServiceError) throws -> Response {
        var detail: [String: Any] = ["code": error.code ?? error.kind.code, "message": error.message]
        if let field = error.field { detail["field"] = field }
        return try json(["error": detail], status: HTTPResponse.Status(code: error.kind.status))
    }

    /// Reads a JSON object body, or says what is wrong with it.
    static func jsonObject(_ data: Data) throws -> [String: Any] {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw ServiceError(.badRequest, "the body is not valid JSON (\(CreateGenerationBody.describe(error)))", klingCode: 1200)
        }
        guard let object = parsed as? [String: Any] else { throw ServiceError(.badRequest, "the body must be a JSON object", klingCode: 1200) }
        return object
    }
}
