import Crypto
import Foundation
import MoviolaEngine
import MoviolaWorker

/// What the server knows about one installed model without loading its weights: its card
/// (defaults, vocabulary), the size and frame-count steps its VAE and transformer need, and a
/// hash of its files for replay receipts.
public struct ModelInfo: Sendable {
    public let name: String
    public let path: String
    public let card: ModelCard?
    /// Generated width and height must be multiples of this.
    public let sizeMultiple: Int
    /// Frame counts are `temporalScale·k + 1`.
    public let temporalScale: Int
    /// SHA-256 over the folder's files (sorted relative paths and contents).
    public let sha256: String

    public var shortSide: Int { card?.shortSide ?? 480 }
    public var fps: Int { card?.fps ?? 16 }
    public var outputShortSide: Int { card?.outputShortSide ?? shortSide }
    public var outputFPS: Int { card?.outputFPS ?? fps }
    public var steps: Int { card?.steps ?? 30 }
    public var defaultFrames: Int { card?.frames ?? (5 * fps / temporalScale * temporalScale + 1) }
    /// The longest clip accepted, in seconds of generated video.
    public var maxDuration: Double { max(10, Double(defaultFrames) / Double(fps) * 2) }
    public var aspects: [String] { card?.vocabulary?.aspects ?? ["16:9", "9:16", "1:1"] }

    public init(name: String, path: String) throws {
        self.name = name
        self.path = path
        card = try ModelCard.load(folder: path)
        struct VAEConfig: Decodable {
            let dim_mult: [Int]?
            let temperal_downsample: [Bool]?
        }
        struct TransformerConfig: Decodable { let patch_size: [Int]? }
        let folder = try PipelineFolder(path: path)
        func load<T: Decodable>(_ type: T.Type, _ relative: String) throws -> T {
            let file = folder.componentPath(relative)
            guard let data = FileManager.default.contents(atPath: file) else { throw ServiceError(.internal, "\(file) is missing") }
            do { return try JSONDecoder().decode(T.self, from: data) } catch {
                throw ServiceError(.internal, "\(file) is not a valid config: \(error)")
            }
        }
        let vae = try load(VAEConfig.self, "vae/config.json")
        let transformer = try load(TransformerConfig.self, "transformer/config.json")
        let levels = (vae.dim_mult ?? [1, 2, 4, 4]).count - 1
        let spatial = 1 << levels
        temporalScale = 1 << (vae.temperal_downsample ?? [false, true, true]).prefix(levels).filter { $0 }.count
        sizeMultiple = spatial * ((transformer.patch_size ?? [1, 2, 2]).dropFirst().first ?? 2)
        sha256 = try ModelFolderHash.sha256(path)
    }

    /// The capabilities document of `GET /api/v1/models/{name}`.
    public var capabilities: [String: Any] {
        var result: [String: Any] = [
            "name": name,
            "sha256": sha256,
            "aspect_ratios": aspects,
            "sizes": aspects.map { aspect -> [String: Any] in
                let (w, h) = Self.dimensions(aspect: aspect, shortSide: outputShortSide, multiple: 2)
                return ["aspect_ratio": aspect, "width": w, "height": h]
            },
            "generated_short_side": shortSide,
            "output_short_side": outputShortSide,
            "fps": ["default": outputFPS, "min": 1, "max": 60],
            "resolution": ["default": outputShortSide, "min": 64, "max": 1080],
            "duration": ["default": Double(defaultFrames - 1) / Double(fps), "min": 0.5, "max": maxDuration],
            "steps": ["default": steps, "min": 1, "max": 100],
            "guidance": ["default": 5.0, "min": 0.0, "max": 20.0],
            "image_to_video": true,
            "camera_control": ["axes": CameraControl.axes, "range": [-10, 10],
                               "how": "one axis at a time; the move is added to the prompt in the words the model was trained on"],
        ]
        if let limits = card?.limits { result["limits"] = limits }
        if let limits = card?.limitsZH { result["limits_zh"] = limits }
        if let v = card?.vocabulary {
            result["vocabulary"] = [
                "objects": v.kinds.mapValues { ["en": $0.en, "zh": $0.zh] },
                "colours": v.colours.mapValues { ["en": $0.en, "zh": $0.zh] },
                "backgrounds": v.backgrounds.mapValues { ["en": $0.en, "zh": $0.zh] },
                "counts": v.counts, "motions": v.motions, "speeds": v.speeds, "camera_moves": v.cameras,
            ] as [String: Any]
        }
        return result
    }

    static func dimensions(aspect: String, shortSide: Int, multiple: Int) -> (Int, Int) {
        let (w, h): (Int, Int)
        switch aspect {
        case "9:16": (w, h) = (shortSide, shortSide * 16 / 9)
        case "1:1": (w, h) = (shortSide, shortSide)
        default: (w, h) = (shortSide * 16 / 9, shortSide)
        }
        return (max(multiple, w / multiple * multiple), max(multiple, h / multiple * multiple))
    }
}

/// The installed models, by name; the first is the default.
public struct ModelCatalogue: Sendable {
    public let models: [ModelInfo]
    public var defaultModel: ModelInfo { models[0] }

    public init(folders: [(name: String, path: String)]) throws {
        guard !folders.isEmpty else { throw ServiceError(.internal, "no models are installed; pass --model DIR") }
        models = try folders.map { folder in
            do { return try ModelInfo(name: folder.name, path: folder.path) } catch {
                throw ServiceError(.internal, "cannot use the model folder \(folder.path): \(error)")
            }
        }
    }

    public func model(named name: String?) -> ModelInfo? {
        guard let name else { return defaultModel }
        return models.first { $0.name == name }
    }

    /// Name → folder, as workers need it.
    public var folders: [String: String] { Dictionary(uniqueKeysWithValues: models.map { ($0.name, $0.path) }) }
}
