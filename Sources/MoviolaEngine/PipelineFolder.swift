import Foundation

/// A diffusers pipeline folder (`model_index.json` plus one sub-folder per component).
public struct PipelineFolder: Sendable {
    public let path: String
    /// `_class_name` from `model_index.json`, e.g. `WanPipeline`.
    public let pipelineClass: String
    /// Component name → class name, for components that are present (not `[null, null]`).
    public let components: [String: String]
    /// Wan 2.2 two-expert switch point, as a fraction of the training timesteps.
    public let boundaryRatio: Double?
    /// Wan 2.2 per-token timesteps.
    public let expandTimesteps: Bool

    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EngineError("\(path): model folder not found")
        }
        let indexPath = (path as NSString).appendingPathComponent("model_index.json")
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw EngineError("\(indexPath): file not found (is \(path) a diffusers pipeline folder?)")
        }
        guard let index = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EngineError("\(indexPath): not a JSON object")
        }
        self.path = path
        pipelineClass = index["_class_name"] as? String ?? "unknown"
        var components: [String: String] = [:]
        for (key, value) in index where !key.hasPrefix("_") {
            if let pair = value as? [Any], pair.count == 2, let cls = pair[1] as? String {
                components[key] = cls
            }
        }
        self.components = components
        boundaryRatio = (index["boundary_ratio"] as? NSNumber)?.doubleValue
        expandTimesteps = (index["expand_timesteps"] as? Bool) ?? false
        guard ["WanPipeline", "WanImageToVideoPipeline"].contains(pipelineClass) || components["transformer"] == "WanTransformer3DModel" else {
            throw EngineError("\(indexPath): pipeline \(pipelineClass) is not a Wan pipeline (WanPipeline with a WanTransformer3DModel)")
        }
    }

    public func componentPath(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Loads the (first) transformer.
    public func loadTransformer(_ name: String = "transformer") throws -> WanTransformer3DModel {
        guard components[name] != nil else {
            throw EngineError("\(path): model_index.json lists no \(name)")
        }
        return try WanTransformer3DModel.load(directory: componentPath(name))
    }

    /// Reads the scheduler configuration.
    public func schedulerConfig() throws -> SchedulerConfig {
        try SchedulerConfig.load(path: (componentPath("scheduler") as NSString).appendingPathComponent("scheduler_config.json"))
    }
}
