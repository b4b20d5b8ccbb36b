import Foundation

/// The weights of one model component: a single safetensors file, a sharded set described by a
/// `*.safetensors.index.json`, or every `*.safetensors` file in a folder.
public final class WeightStore: Sendable {
    /// Where the weights came from, for error messages.
    public let source: String
    private let files: [SafetensorsFile]
    private let location: [String: Int]

    /// Opens the weights in `directory`, preferring `<baseName>.safetensors`, then
    /// `<baseName>.safetensors.index.json`, then any `.safetensors` / `.safetensors.index.json`.
    public convenience init(directory: String, baseName: String = "diffusion_pytorch_model") throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SafetensorsError(path: directory, "folder not found")
        }
        let single = (directory as NSString).appendingPathComponent("\(baseName).safetensors")
        let index = (directory as NSString).appendingPathComponent("\(baseName).safetensors.index.json")
        if fm.fileExists(atPath: single) {
            try self.init(files: [single], source: single)
        } else if fm.fileExists(atPath: index) {
            try self.init(index: index)
        } else {
            let contents = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            if let anyIndex = contents.sorted().first(where: { $0.hasSuffix(".safetensors.index.json") }) {
                try self.init(index: (directory as NSString).appendingPathComponent(anyIndex))
            } else {
                let shards = contents.filter { $0.hasSuffix(".safetensors") }.sorted()
                guard !shards.isEmpty else {
                    throw SafetensorsError(path: directory, "no .safetensors weights found (expected \(baseName).safetensors)")
                }
                try self.init(files: shards.map { (directory as NSString).appendingPathComponent($0) }, source: directory)
            }
        }
    }

    /// Opens a sharded checkpoint from its index file (`{"weight_map": {tensor: shard}}`).
    public convenience init(index path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafetensorsError(path: path, "cannot read index file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = object["weight_map"] as? [String: Any]
        else {
            throw SafetensorsError(path: path, "not a safetensors index (expected a JSON object with \"weight_map\")")
        }
        var shardNames = Set<String>()
        for (tensor, shard) in map {
            guard let shard = shard as? String else { throw SafetensorsError(path: path, "weight_map[\(tensor)] is not a file name") }
            guard !shard.contains("/") && !shard.hasPrefix(".") else {
                throw SafetensorsError(path: path, "weight_map[\(tensor)] names \(shard), outside the model folder")
            }
            shardNames.insert(shard)
        }
        let folder = (path as NSString).deletingLastPathComponent
        let shardPaths = shardNames.sorted().map { (folder as NSString).appendingPathComponent($0) }
        try self.init(files: shardPaths, source: path)
        for tensor in map.keys where location[tensor] == nil {
            throw SafetensorsError(path: path, "index lists \(tensor) in \(map[tensor]!) but that shard does not contain it")
        }
    }

    public init(files paths: [String], source: String) throws {
        var files: [SafetensorsFile] = []
        var location: [String: Int] = [:]
        for path in paths {
            let file = try SafetensorsFile(path: path)
            for name in file.entries.keys {
                if location[name] != nil {
                    throw SafetensorsError(path: path, "tensor \(name) also appears in \(files[location[name]!].path)")
                }
                location[name] = files.count
            }
            files.append(file)
        }
        self.files = files
        self.location = location
        self.source = source
    }

    /// All tensor names.
    public var names: [String] { location.keys.sorted() }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// Shape of a tensor without reading it.
    public func shape(of name: String) -> [Int]? {
        location[name].flatMap { files[$0].entries[name]?.shape }
    }

    /// The file holding a tensor (for messages).
    public func path(of name: String) -> String? { location[name].map { files[$0].path } }

    public func tensor(_ name: String) throws -> Tensor {
        guard let i = location[name] else { throw SafetensorsError(path: source, "missing tensor \(name)") }
        return try files[i].tensor(name)
    }
}
