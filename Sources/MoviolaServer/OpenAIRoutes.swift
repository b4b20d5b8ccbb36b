import Foundation
import HTTPTypes
import Hummingbird
import MoviolaStore
import MoviolaWorker
import NIOCore

/// OpenAI's `/v1/videos` shape, so clients of the official SDK work by changing the base URL.
/// Moviola's differences: no `expires_at` (videos are kept), `cancelled` reads as `failed` with code
/// `cancelled`, and `size` is the size actually rendered.
extension Routes {
    func registerOpenAI(on router: Router<MoviolaRequestContext>) {
        router.post("/v1/videos") { request, context in await handle(.openai) { try await openAICreate(request, context) } }
        router.get("/v1/videos") { request, _ in await handle(.openai) { try await openAIList(request) } }
        router.post("/v1/videos/extensions") { request, context in await handle(.openai) { try await openAIExtend(request, context) } }
        router.get("/v1/videos/:id") { request, context in
            await handle(.openai) {
                let principal = try await access.principal(request)
                return try await openAIResponse(try await owned(context.parameters.require("id"), principal))
            }
        }
        router.delete("/v1/videos/:id") { request, context in
            await handle(.openai) {
                let principal = try await access.principal(request)
                let generation = try await owned(context.parameters.require("id"), principal)
                try await remove(generation, principal)
                return try Self.json(["id": generation.id, "object": "video.deleted", "deleted": true])
            }
        }
        router.get("/v1/videos/:id/content") { request, context in await handle(.openai) { try await openAIContent(request, context) } }
        router.post("/v1/videos/:id/remix") { request, context in await handle(.openai) { try await openAIRemix(request, context) } }
    }

    /// Form fields or JSON, as a flat dictionary (files as Data).
    func openAIFields(_ request: Request, _ context: MoviolaRequestContext) async throws -> [String: Any] {
        let body = try await Self.body(request, context)
        let type = request.headers[.contentType] ?? ""
        if type.lowercased().hasPrefix("multipart/form-data") {
            let form = try MultipartForm(body: body, contentType: type)
            var fields: [String: Any] = [:]
            for part in form.parts {
                fields[part.name] = part.filename != nil || part.name == "input_reference" ? part.data as Any : part.text as Any
            }
            return fields
        }
        return try Self.jsonObject(body)
    }

    func openAIBody(_ fields: [String: Any], allowed: Set<String>) throws -> [String: Any] {
        let unknown = Set(fields.keys).subtracting(allowed)
        if let field = unknown.sorted().first {
            throw ServiceError(.badRequest, "unknown parameter \(field); accepted: \(allowed.sorted().joined(separator: ", "))", field: field)
        }
        var native: [String: Any] = [:]
        if let prompt = fields["prompt"] { native["prompt"] = prompt }
        // Moviola's own settings, for clients that send them (the SDK's extra_body).
        for key in ["steps", "seed", "guidance"] where allowed.contains(key) {
            guard let value = fields[key] else { continue }
            guard let number = Double("\(value)") else { throw ServiceError(.badRequest, "\(key) must be a number", field: key) }
            native[key] = number
        }
        if let negative = fields["negative_prompt"] as? String { native["negative_prompt"] = negative }
        if let model = fields["model"] as? String {
            // OpenAI's model names select this server's default model.
            if !model.hasPrefix("sora") { native["model"] = model }
        }
        if let seconds = fields["seconds"] {
            guard let value = Double("\(seconds)"), value > 0 else {
                throw ServiceError(.badRequest, "seconds must be a number of seconds such as \"4\"", field: "seconds")
            }
            native["duration"] = value
        } else {
            native["duration"] = 4.0
        }
        if let size = fields["size"] as? String {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 16, parts[1] >= 16 else {
                throw ServiceError(.badRequest, "size must be WIDTHxHEIGHT, such as 1280x720", field: "size")
            }
            let ratio = Double(parts[0]) / Double(parts[1])
            let aspects: [(String, Double)] = [("16:9", 16.0 / 9), ("9:16", 9.0 / 16), ("1:1", 1)]
            let best = aspects.min { abs(log($0.1 / ratio)) < abs(log($1.1 / ratio)) }!
            guard abs(log(best.1 / ratio)) < 0.25 else {
                throw ServiceError(.badRequest, "size \(size) is not close to 16:9, 9:16 or 1:1", field: "size")
            }
            native["aspect_ratio"] = best.0
            native["resolution"] = min(parts[0], parts[1], 1080)
        }
        if let reference = fields["input_reference"] {
            if let data = reference as? Data {
                native["image"] = data.base64EncodedString()
            } else if let object = reference as? [String: Any], let url = object["image_url"] as? String, url.hasPrefix("data:") {
                native["image"] = url
            } else {
                throw ServiceError(.badRequest, "input_reference must be an uploaded image file or {\"image_url\": \"data:image/…;base64,…\"}; this server fetches no URLs",
                                   field: "input_reference")
            }
        }
        return native
    }

    func openAICreate(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let fields = try await openAIFields(request, context)
        let native = try openAIBody(fields, allowed: ["prompt", "model", "seconds", "size", "input_reference", "steps", "seed", "guidance", "negative_prompt"])
        let body = try CreateGenerationBody(json: JSON.data(native))
        let (generation, _) = try await start(body, principal, idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!], flavor: "openai")
        return try await openAIResponse(generation)
    }

    func openAIRemix(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let source = try await owned(context.parameters.require("id"), principal)
        let fields = try await openAIFields(request, context)
        guard let prompt = fields["prompt"] as? String else { throw ServiceError(.badRequest, "prompt is required", field: "prompt") }
        let spec = try JSONDecoder().decode(GenerationSpec.self, from: Data(source.request.utf8))
        var native: [String: Any] = ["prompt": prompt, "model": spec.model, "aspect_ratio": spec.aspectRatio, "duration": spec.duration,
                                     "seed": spec.settings.seed, "steps": spec.settings.steps, "guidance": Double(spec.settings.guidance),
                                     "resolution": min(spec.settings.outputWidth, spec.settings.outputHeight), "fps": spec.settings.outputFPS,
                                     "negative_prompt": spec.negativePrompt]
        if let camera = spec.cameraControl { native["camera_control"] = [camera.axis: camera.value] }
        let body = try CreateGenerationBody(json: JSON.data(native))
        let (generation, _) = try await start(body, principal, idempotencyKey: nil, flavor: "openai", remixOf: source.id)
        return try await openAIResponse(generation)
    }

    func openAIExtend(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        var fields = try await openAIFields(request, context)
        var sourceID = (fields["video"] as? [String: Any])?["id"] as? String ?? fields["video[id]"] as? String
        if sourceID == nil, let text = fields["video"] as? String {
            sourceID = ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["id"] as? String ?? text
        }
        guard let sourceID else {
            throw ServiceError(.badRequest, "video must name the video to extend: {\"id\": \"gen_…\"} (uploaded files are not extended)", field: "video")
        }
        fields["video"] = nil
        fields["video[id]"] = nil
        var native = try openAIBody(fields, allowed: ["prompt", "seconds", "steps", "seed", "guidance", "negative_prompt"])
        native["extend"] = sourceID
        let body = try CreateGenerationBody(json: JSON.data(native))
        let (generation, _) = try await start(body, principal, idempotencyKey: nil, flavor: "openai")
        return try await openAIResponse(generation)
    }

    func openAIList(_ request: Request) async throws -> Response {
        let principal = try await access.principal(request)
        let query = request.uri.queryParameters
        var limit = 20
        if let text = query["limit"] {
            guard let n = Int(text), (1...100).contains(n) else { throw ServiceError(.badRequest, "limit must be 1 to 100", field: "limit") }
            limit = n
        }
        let order = query["order"].map(String.init) ?? "desc"
        guard ["asc", "desc"].contains(order) else { throw ServiceError(.badRequest, "order must be asc or desc", field: "order") }
        let account = principal.via == .open ? nil : principal.account
        var page: [GenerationRecord]
        if order == "desc" {
            var before: (Double, String)?
            if let after = query["after"] {
                guard let anchor = try await store.generation(id: String(after)) else { throw ServiceError(.badRequest, "after names no video", field: "after") }
                before = (anchor.createdAt, anchor.id)
            }
            page = try await store.generations(account: account, limit: limit + 1, before: before)
        } else {
            var all = try await store.generations(account: account, limit: 500).reversed() as [GenerationRecord]
            if let after = query["after"], let index = all.firstIndex(where: { $0.id == after }) { all = Array(all[(index + 1)...]) }
            page = Array(all.prefix(limit + 1))
        }
        let items = try page.prefix(limit).map { try openAIVideo($0) }
        return try Self.json(["object": "list", "data": items, "first_id": page.first?.id as Any? ?? NSNull(),
                              "last_id": page.prefix(limit).last?.id as Any? ?? NSNull(), "has_more": page.count > limit])
    }

    func openAIContent(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let generation = try await owned(context.parameters.require("id"), principal)
        switch request.uri.queryParameters["variant"].map(String.init) ?? "video" {
        case "video":
            return try await serveVideo(generation, request, exportedBy: principal.account)
        case "thumbnail":
            guard generation.state == .succeeded, let key = generation.videoKey else {
                throw ServiceError(.conflict, "video \(generation.id) is \(generation.state.rawValue); its thumbnail exists once it completes")
            }
            let path = try await plane.storage.localPath(key: key)
            let jpeg = try await runOnThread { try plane.thumbnail(path: path) }
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: jpeg)))
            response.headers[.contentType] = "image/jpeg"
            return response
        case let other:
            throw ServiceError(.badRequest, "variant \(other) is not offered; use video or thumbnail", field: "variant")
        }
    }

    func openAIResponse(_ generation: GenerationRecord) async throws -> Response {
        var response = try Self.json(try openAIVideo(generation))
        if !generation.state.isFinal { response.headers[HTTPField.Name("openai-poll-after-ms")!] = "1000" }
        return response
    }

    /// OpenAI's Video object.
    func openAIVideo(_ g: GenerationRecord) throws -> [String: Any] {
        let spec = try? JSONDecoder().decode(GenerationSpec.self, from: Data(g.request.utf8))
        let status: String
        switch g.state {
        case .queued: status = "queued"
        case .running: status = "in_progress"
        case .succeeded: status = "completed"
        case .failed, .cancelled: status = "failed"
        }
        let percent = g.state == .succeeded ? 100 : (g.stage == "denoising" && g.totalSteps > 0 ? Int(Double(g.step) / Double(g.totalSteps) * 90) : 0)
        var seconds = spec?.duration ?? 0
        if let spec, spec.extendsGenerationID != nil, let total = spec.earlierDuration { seconds += total }
        return [
            "id": g.id, "object": "video", "status": status, "progress": percent,
            "created_at": Int(g.createdAt), "completed_at": g.finishedAt.map { Int($0) as Any } ?? NSNull(),
            "expires_at": NSNull(),
            "error": g.errorCode.map { ["code": $0, "message": g.errorMessage ?? ""] as Any } ?? NSNull(),
            "model": g.model, "prompt": spec?.prompt ?? "",
            "remixed_from_video_id": spec?.remixedFromID as Any? ?? NSNull(),
            "seconds": Self.secondsString(seconds),
            "size": spec.map { "\($0.settings.outputWidth)x\($0.settings.outputHeight)" } ?? "",
        ]
    }

    static func secondsString(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.2f", seconds)
    }
}
