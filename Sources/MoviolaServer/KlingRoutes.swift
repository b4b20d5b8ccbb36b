import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MoviolaStore
import NIOCore

/// Kling's task API (`/v1/videos/text2video`, `/image2video`, `/video-extend`) with its envelope,
/// states and error codes. Unlike Kling, a failed task's `message` says it failed.
extension Routes {
    static let klingFamilies = ["text2video", "image2video", "video-extend"]

    func registerKling(on router: Router<MoviolaRequestContext>) {
        for family in Self.klingFamilies {
            router.post("/v1/videos/\(family)") { request, context in await handle(.kling) { try await klingCreate(family, request, context) } }
            router.get("/v1/videos/\(family)") { request, _ in await handle(.kling) { try await klingList(family, request) } }
            router.get("/v1/videos/\(family)/:task") { request, context in
                await handle(.kling) {
                    let principal = try await access.principal(request)
                    let task = try context.parameters.require("task")
                    var generation = try? await owned(task, principal)
                    if generation == nil, let external = try await store.generation(account: principal.account, externalTaskID: task),
                       external.deletedAt == nil {
                        generation = external
                    }
                    guard let generation else { throw ServiceError(.notFound, "no task \(task)", klingCode: 1203) }
                    return try Self.json(Self.klingEnvelope(try klingTask(generation)))
                }
            }
        }
        router.get("/v1/files/:name") { request, context in await handle(.kling) { try await signedDownload(request, context) } }
    }

    static func klingEnvelope(_ data: Any, message: String = "SUCCEED") -> [String: Any] {
        ["code": 0, "message": message, "request_id": requestID(), "data": data]
    }

    func klingCreate(_ family: String, _ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let object = try Self.jsonObject(try await Self.body(request, context))
        var allowed: Set<String> = ["model_name", "model", "prompt", "negative_prompt", "cfg_scale", "mode", "aspect_ratio", "duration",
                                    "camera_control", "callback_url", "external_task_id"]
        switch family {
        case "image2video": allowed.formUnion(["image", "image_tail", "static_mask", "dynamic_masks"])
        case "video-extend": allowed = ["video_id", "prompt", "negative_prompt", "cfg_scale", "callback_url", "external_task_id"]
        default: break
        }
        if let field = Set(object.keys).subtracting(allowed).sorted().first {
            throw ServiceError(.badRequest, "unknown parameter \(field) for \(family)", field: field, klingCode: 1200)
        }
        for unsupported in ["image_tail", "static_mask", "dynamic_masks"] where object[unsupported] != nil && !(object[unsupported] is NSNull) {
            throw ServiceError(.badRequest, "\(unsupported) is not supported by this server's models", field: unsupported, klingCode: 1201)
        }
        func string(_ key: String) throws -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw ServiceError(.badRequest, "\(key) must be a string", field: key, klingCode: 1200) }
            return text
        }
        var native: [String: Any] = [:]
        native["prompt"] = try string("prompt") ?? (family == "video-extend" ? "" : nil)
        if let negative = try string("negative_prompt") { native["negative_prompt"] = negative }
        if let model = try string("model_name") ?? string("model"), !model.hasPrefix("kling") { native["model"] = model }
        if let cfg = object["cfg_scale"], !(cfg is NSNull) {
            guard let n = cfg as? NSNumber, (0...1).contains(n.doubleValue) else {
                throw ServiceError(.badRequest, "cfg_scale must be a number from 0 to 1", field: "cfg_scale", klingCode: 1201)
            }
            native["guidance"] = 1 + n.doubleValue * 8
        }
        if let mode = try string("mode"), !["std", "pro"].contains(mode) {
            throw ServiceError(.badRequest, "mode must be std or pro", field: "mode", klingCode: 1201)
        }
        if let aspect = try string("aspect_ratio") { native["aspect_ratio"] = aspect }
        if let duration = object["duration"], !(duration is NSNull) {
            guard let seconds = Double("\(duration)"), seconds > 0 else {
                throw ServiceError(.badRequest, "duration must be a number of seconds such as \"5\"", field: "duration", klingCode: 1201)
            }
            native["duration"] = seconds
        }
        if let camera = object["camera_control"], !(camera is NSNull) { native["camera_control"] = try klingCamera(camera) }
        switch family {
        case "image2video":
            guard let image = try string("image"), !image.isEmpty else {
                throw ServiceError(.badRequest, "image is required: the first frame as raw base64 (JPEG or PNG)", field: "image", klingCode: 1200)
            }
            if image.hasPrefix("http://") || image.hasPrefix("https://") {
                throw ServiceError(.badRequest, "image URLs are not fetched by this server; send the image as base64", field: "image", klingCode: 1201)
            }
            native["image"] = image
            native["consent"] = false
        case "video-extend":
            guard let video = try string("video_id") else { throw ServiceError(.badRequest, "video_id is required", field: "video_id", klingCode: 1200) }
            // Kling's video IDs are this server's generation IDs (task_result.videos[].id).
            native["extend"] = video
            if (native["prompt"] as? String)?.isEmpty ?? true {
                let source = try await owned(video, principal)
                native["prompt"] = (try? JSONDecoder().decode(GenerationSpec.self, from: Data(source.request.utf8)))?.prompt ?? ""
            }
        default:
            break
        }
        let external = try string("external_task_id")
        if let external, !(1...128).contains(external.count) {
            throw ServiceError(.badRequest, "external_task_id must be 1 to 128 characters", field: "external_task_id", klingCode: 1201)
        }
        let body: CreateGenerationBody
        do { body = try CreateGenerationBody(json: JSON.data(native)) } catch var error as ServiceError {
            error.klingCode = error.klingCode ?? (error.field == "prompt" ? 1200 : 1201)
            throw error
        }
        let (generation, _) = try await start(body, principal, idempotencyKey: nil, externalTaskID: external,
                                              callbackURL: try string("callback_url"), flavor: "kling")
        return try Self.json(Self.klingEnvelope(try klingTask(generation)))
    }

    /// Kling's camera_control: `simple` with one axis in config, or a preset (mapped to the nearest move the model knows).
    func klingCamera(_ value: Any) throws -> [String: Double] {
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw ServiceError(.badRequest, "camera_control must be {\"type\": \"simple\", \"config\": {…}} or a preset type", field: "camera_control", klingCode: 1201)
        }
        let presets: [String: [String: Double]] = ["down_back": ["zoom": -6], "forward_up": ["zoom": 6],
                                                   "right_turn_forward": ["pan": 6], "left_turn_forward": ["pan": -6]]
        if let preset = presets[type] {
            guard object["config"] == nil || object["config"] is NSNull else {
                throw ServiceError(.badRequest, "camera_control type \(type) takes no config", field: "camera_control", klingCode: 1201)
            }
            return preset
        }
        guard type == "simple" else {
            throw ServiceError(.badRequest, "camera_control.type must be simple, down_back, forward_up, right_turn_forward or left_turn_forward",
                               field: "camera_control", klingCode: 1201)
        }
        guard let config = object["config"] as? [String: Any] else {
            throw ServiceError(.badRequest, "camera_control type simple needs config with one of horizontal, vertical, pan, tilt, roll, zoom",
                               field: "camera_control", klingCode: 1201)
        }
        var moves: [String: Double] = [:]
        for (axis, raw) in config {
            guard CameraControl.axes.contains(axis), let n = raw as? NSNumber, (-10...10).contains(n.doubleValue) else {
                throw ServiceError(.badRequest, "camera_control.config.\(axis) must be an axis (\(CameraControl.axes.joined(separator: ", "))) with a value from -10 to 10",
                                   field: "camera_control", klingCode: 1201)
            }
            if n.doubleValue != 0 { moves[axis] = n.doubleValue }
        }
        guard moves.count <= 1 else {
            throw ServiceError(.badRequest, "camera_control.config: only one axis may be non-zero", field: "camera_control", klingCode: 1201)
        }
        return moves.isEmpty ? ["pan": 0] : moves
    }

    func klingList(_ family: String, _ request: Request) async throws -> Response {
        let principal = try await access.principal(request)
        let query = request.uri.queryParameters
        let page = Int(query["pageNum"] ?? "1") ?? 0
        let size = Int(query["pageSize"] ?? "30") ?? 0
        guard (1...1000).contains(page) else { throw ServiceError(.badRequest, "pageNum must be 1 to 1000", field: "pageNum", klingCode: 1201) }
        guard (1...500).contains(size) else { throw ServiceError(.badRequest, "pageSize must be 1 to 500", field: "pageSize", klingCode: 1201) }
        let all = try await store.generations(account: principal.via == .open ? nil : principal.account, limit: min(500, page * size))
        let items = try all.dropFirst((page - 1) * size).prefix(size).map { try klingTask($0) }
        return try Self.json(Self.klingEnvelope(items))
    }

    /// Kling's task object.
    func klingTask(_ g: GenerationRecord) throws -> [String: Any] {
        let status: String
        var message = ""
        switch g.state {
        case .queued: status = "submitted"
        case .running: status = "processing"
        case .succeeded: status = "succeed"
        case .failed: status = "failed"; message = "failed (\(g.errorCode ?? "error")): \(g.errorMessage ?? "")"
        case .cancelled: status = "failed"; message = "cancelled by the user"
        }
        let spec = try? JSONDecoder().decode(GenerationSpec.self, from: Data(g.request.utf8))
        var task: [String: Any] = [
            "task_id": g.id, "task_status": status, "task_status_msg": message,
            "task_info": ["external_task_id": g.externalTaskID as Any? ?? NSNull()],
            "created_at": Int(g.createdAt * 1000), "updated_at": Int((g.finishedAt ?? g.startedAt ?? g.createdAt) * 1000),
            "final_unit_deduction": g.state == .succeeded ? String(g.cost) : "0",
        ]
        if let source = spec?.extendsGenerationID { task["task_info"] = ["external_task_id": g.externalTaskID as Any? ?? NSNull(), "parent_video": ["id": source]] }
        if g.state == .succeeded, g.videoDeletedAt == nil {
            let seconds = (spec?.duration ?? 0) + (spec?.earlierDuration ?? 0)
            task["task_result"] = ["videos": [["id": g.id, "url": signedURL(g.id), "duration": Self.secondsString(seconds)] as [String: Any]]]
        } else {
            task["task_result"] = ["videos": [] as [Any]]
        }
        return task
    }

    /// A download link that needs no credential and never expires: the path carries an HMAC of the
    /// generation ID under the server's key, so it cannot be guessed; deleting the video ends it.
    func signedURL(_ id: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(id.utf8), using: access.secrets.derivedKey("download-links"))
        let token = Data(mac).prefix(16).map { String(format: "%02x", $0) }.joined()
        return publicBaseURL + "/v1/files/\(id)-\(token).mp4"
    }

    func signedDownload(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let name = try context.parameters.require("name")
        guard name.hasSuffix(".mp4"), let dash = name.lastIndex(of: "-") else { throw ServiceError(.notFound, "no such file", klingCode: 1203) }
        let id = String(name[..<dash])
        guard signedURL(id).hasSuffix("/" + name), let generation = try await store.generation(id: id), generation.deletedAt == nil else {
            throw ServiceError(.notFound, "no such file", klingCode: 1203)
        }
        return try await serveVideo(generation, request, exportedBy: generation.account)
    }
}
