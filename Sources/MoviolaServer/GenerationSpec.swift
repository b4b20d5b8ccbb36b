import Foundation
import MoviolaSafety
import MoviolaWorker

/// An error with an HTTP status and a machine-readable code; its message says what to fix.
public struct ServiceError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case badRequest, unauthorized, forbidden, notFound, conflict, tooLarge, unprocessable, tooManyRequests, unavailable, `internal`

        var status: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .tooLarge: 413
            case .unprocessable: 422
            case .tooManyRequests: 429
            case .unavailable: 503
            case .internal: 500
            }
        }

        var code: String {
            switch self {
            case .badRequest: "invalid_request"
            case .unauthorized: "unauthorized"
            case .forbidden: "forbidden"
            case .notFound: "not_found"
            case .conflict: "conflict"
            case .tooLarge: "too_large"
            case .unprocessable: "unprocessable"
            case .tooManyRequests: "too_many_requests"
            case .unavailable: "unavailable"
            case .internal: "internal_error"
            }
        }
    }

    public var kind: Kind
    public var message: String
    /// The request field at fault, when there is one.
    public var field: String?
    /// The matching code of Kling's API (1000–1004 auth, 1102 quota, 1200/1201 parameters, 1301 safety, 1303 concurrency).
    public var klingCode: Int?
    /// A finer machine-readable code than the kind's (e.g. `key_revoked`, `token_expired`).
    public var code: String?

    public init(_ kind: Kind, _ message: String, field: String? = nil, klingCode: Int? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.klingCode = klingCode
        self.code = code
    }

    public var description: String { message }
}

/// Kling-style camera control: one axis at a time, strength −10…10.
public struct CameraControl: Codable, Sendable, Equatable {
    public static let axes = ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"]
    public var axis: String
    public var value: Double

    /// The move in the words of the bundled world's captions (the model learned camera moves from them).
    public func phrase(chinese: Bool) -> String? {
        guard value != 0 else { return chinese ? "镜头固定不动" : "the camera stays still" }
        let fast = abs(value) > 5
        let positive = value > 0
        let move: String
        switch (axis, positive) {
        case ("horizontal", true): move = chinese ? "向右平移" : "trucks right"
        case ("horizontal", false): move = chinese ? "向左平移" : "trucks left"
        case ("vertical", true): move = chinese ? "垂直上升" : "pedestals up"
        case ("vertical", false): move = chinese ? "垂直下降" : "pedestals down"
        case ("pan", true): move = chinese ? "向右摇" : "pans right"
        case ("pan", false): move = chinese ? "向左摇" : "pans left"
        case ("tilt", true): move = chinese ? "向上摇" : "tilts up"
        case ("tilt", false): move = chinese ? "向下摇" : "tilts down"
        case ("roll", true): move = chinese ? "顺时针旋转" : "rolls clockwise"
        case ("roll", false): move = chinese ? "逆时针旋转" : "rolls counterclockwise"
        case ("zoom", true): move = chinese ? "拉近" : "zooms in"
        case ("zoom", false): move = chinese ? "拉远" : "zooms out"
        default: return nil
        }
        if chinese { return "镜头\(fast ? "快速" : "缓缓")\(move)" }
        return "the camera \(fast ? "quickly" : "slowly") \(move)"
    }
}

/// A validated generation request, as stored with the generation: what the user asked for and the
/// exact render settings it resolved to.
public struct GenerationSpec: Codable, Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var model: String
    public var aspectRatio: String
    public var duration: Double
    public var cameraControl: CameraControl?
    /// Storage key of the first-frame image, when one was given.
    public var imageKey: String?
    public var imageSHA256: String?
    public var imageType: String?
    public var settings: RenderSettings
    public var marks: OutputMarks
    /// The content policy's version and action when the request was accepted.
    public var policyVersion: String?
    public var policyAction: String?
    /// The requester's consent attestation for the people in the image.
    public var consent: Bool?
    /// Extension: the generation whose clip this one continues, and that clip's storage key and hash.
    public var extendsGenerationID: String?
    public var earlierVideoKey: String?
    public var earlierVideoSHA256: String?
    /// Seconds of video before this extension (the stitched total is this plus `duration`).
    public var earlierDuration: Double?
    /// Remix: the generation whose settings this one reused with a new prompt.
    public var remixedFromID: String?
}

/// The native API's create body. Unknown fields are refused so typos do not pass silently.
struct CreateGenerationBody: Sendable {
    static let fields: Set<String> = ["prompt", "negative_prompt", "model", "aspect_ratio", "duration", "fps", "resolution",
                                      "seed", "steps", "guidance", "camera_control", "image", "priority", "consent", "extend", "callback_url"]
    static let maxPromptCharacters = 2500

    var prompt: String
    var negativePrompt: String
    var model: String?
    var aspectRatio: String?
    var duration: Double?
    var fps: Int?
    var resolution: Int?
    var seed: UInt64?
    var steps: Int?
    var guidance: Double?
    var cameraControl: CameraControl?
    var image: Data?
    var priority: Int
    /// The requester attests that the people shown in `image` consented to being animated.
    var consent: Bool?
    /// Continue this generation's clip.
    var extend: String?

    /// Parses and checks a JSON body; every error names the field.
    init(json data: Data) throws {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw ServiceError(.badRequest, "the body is not valid JSON (\(Self.describe(error)))")
        }
        guard let object = parsed as? [String: Any] else { throw ServiceError(.badRequest, "the body must be a JSON object") }
        let unknown = Set(object.keys).subtracting(Self.fields)
        if let field = unknown.sorted().first {
            throw ServiceError(.badRequest, "unknown field \"\(field)\"; accepted fields: \(Self.fields.sorted().joined(separator: ", "))", field: field)
        }
        func string(_ key: String) throws -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw ServiceError(.badRequest, "\(key) must be a string", field: key) }
            return text
        }
        func number(_ key: String) throws -> Double? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let n = value as? NSNumber else {
                throw ServiceError(.badRequest, "\(key) must be a number", field: key)
            }
            let d = n.doubleValue
            guard d.isFinite else { throw ServiceError(.badRequest, "\(key) must be a finite number", field: key) }
            return d
        }
        func integer(_ key: String) throws -> Int? {
            guard let d = try number(key) else { return nil }
            guard d == d.rounded(), abs(d) < 1e15 else { throw ServiceError(.badRequest, "\(key) must be a whole number", field: key) }
            return Int(d)
        }
        guard let prompt = try string("prompt")?.trimmingCharacters(in: .whitespacesAndNewlines), !prompt.isEmpty else {
            throw ServiceError(.badRequest, "prompt is required: describe the clip in English or Chinese", field: "prompt")
        }
        guard prompt.count <= Self.maxPromptCharacters else {
            throw ServiceError(.badRequest, "prompt is \(prompt.count) characters; the limit is \(Self.maxPromptCharacters)", field: "prompt")
        }
        self.prompt = prompt
        negativePrompt = try string("negative_prompt") ?? ""
        guard negativePrompt.count <= Self.maxPromptCharacters else {
            throw ServiceError(.badRequest, "negative_prompt is over \(Self.maxPromptCharacters) characters", field: "negative_prompt")
        }
        model = try string("model")
        aspectRatio = try string("aspect_ratio")
        duration = try number("duration")
        fps = try integer("fps")
        resolution = try integer("resolution")
        if let seed = try number("seed") {
            guard seed >= 0, seed == seed.rounded(), seed <= 9_007_199_254_740_991 else {
                throw ServiceError(.badRequest, "seed must be a whole number from 0 to 2^53−1", field: "seed")
            }
            self.seed = UInt64(seed)
        }
        steps = try integer("steps")
        guidance = try number("guidance")
        priority = try integer("priority") ?? 0
        guard (-10...10).contains(priority) else { throw ServiceError(.badRequest, "priority must be between -10 and 10", field: "priority") }
        if let camera = object["camera_control"], !(camera is NSNull) {
            guard let fields = camera as? [String: Any] else {
                throw ServiceError(.badRequest, "camera_control must be an object such as {\"pan\": 5}", field: "camera_control")
            }
            let moves = try fields.compactMap { key, value -> CameraControl? in
                guard CameraControl.axes.contains(key) else {
                    throw ServiceError(.badRequest, "camera_control.\(key) is not an axis; axes: \(CameraControl.axes.joined(separator: ", "))", field: "camera_control")
                }
                guard let n = value as? NSNumber, (-10...10).contains(n.doubleValue) else {
                    throw ServiceError(.badRequest, "camera_control.\(key) must be a number from -10 to 10", field: "camera_control")
                }
                return n.doubleValue == 0 ? nil : CameraControl(axis: key, value: n.doubleValue)
            }
            guard moves.count <= 1 else {
                throw ServiceError(.badRequest, "camera_control takes one non-zero axis at a time", field: "camera_control")
            }
            cameraControl = moves.first ?? CameraControl(axis: "pan", value: 0)
        }
        extend = try string("extend")
        if let value = object["consent"], !(value is NSNull) {
            guard let flag = value as? Bool else { throw ServiceError(.badRequest, "consent must be true or false", field: "consent") }
            consent = flag
        }
        if let text = try string("image") {
            var payload = Substring(text)
            if payload.hasPrefix("data:"), let comma = payload.firstIndex(of: ",") { payload = payload[payload.index(after: comma)...] }
            guard let bytes = Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters), !bytes.isEmpty else {
                throw ServiceError(.badRequest, "image must be a base64-encoded PNG or JPEG (optionally a data: URL)", field: "image")
            }
            image = bytes
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// Resolves the request against a model into exact render settings (the same rules as `moviola generate`).
    func resolve(model info: ModelInfo, marks: OutputMarks) throws -> GenerationSpec {
        let aspect = aspectRatio ?? "16:9"
        guard info.aspects.contains(aspect) else {
            throw ServiceError(.badRequest, "aspect_ratio must be one of \(info.aspects.joined(separator: ", ")), got \(aspect)", field: "aspect_ratio")
        }
        let (width, height) = ModelInfo.dimensions(aspect: aspect, shortSide: info.shortSide, multiple: info.sizeMultiple)
        let outputShort = resolution ?? info.outputShortSide
        guard (64...1080).contains(outputShort) else { throw ServiceError(.badRequest, "resolution must be between 64 and 1080", field: "resolution") }
        let scale = Double(outputShort) / Double(min(width, height))
        let outputWidth = max(16, Int((Double(width) * scale / 2).rounded()) * 2)
        let outputHeight = max(16, Int((Double(height) * scale / 2).rounded()) * 2)
        let outputFPS = fps ?? info.outputFPS
        guard (1...60).contains(outputFPS) else { throw ServiceError(.badRequest, "fps must be between 1 and 60", field: "fps") }
        let seconds = duration ?? Double(info.defaultFrames - 1) / Double(info.fps)
        guard seconds >= 0.5, seconds <= info.maxDuration else {
            throw ServiceError(.badRequest, "duration must be between 0.5 and \(info.maxDuration) seconds for \(info.name)", field: "duration")
        }
        let t = info.temporalScale
        let frames = max(1, Int((seconds * Double(info.fps) / Double(t)).rounded()) * t + 1)
        let steps = self.steps ?? info.steps
        guard (1...100).contains(steps) else { throw ServiceError(.badRequest, "steps must be between 1 and 100", field: "steps") }
        let guidance = self.guidance ?? 5
        guard (0...20).contains(guidance) else { throw ServiceError(.badRequest, "guidance must be between 0 and 20", field: "guidance") }
        var prompt = self.prompt
        if let cameraControl {
            let chinese = prompt.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
            if let phrase = cameraControl.phrase(chinese: chinese) { prompt += chinese ? "，\(phrase)。" : ", \(phrase)." }
        }
        let seed = self.seed ?? UInt64.random(in: 0...9_007_199_254_740_991)
        let settings = RenderSettings(prompt: prompt, negativePrompt: negativePrompt, seed: seed, steps: steps, guidance: Float(guidance),
                                      frames: frames, width: width, height: height, fps: info.fps, outputWidth: outputWidth,
                                      outputHeight: outputHeight, outputFPS: outputFPS)
        return GenerationSpec(prompt: self.prompt, negativePrompt: negativePrompt, model: info.name, aspectRatio: aspect,
                              duration: Double(frames - 1) / Double(info.fps), cameraControl: cameraControl, settings: settings, marks: marks)
    }
}
