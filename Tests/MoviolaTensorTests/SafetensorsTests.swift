import Foundation
import Testing
@testable import MoviolaTensor

func temporaryPath(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "moviola-tests-\(ProcessInfo.processInfo.processIdentifier)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/" + name
}

/// Writes a safetensors file by hand, so that tests can produce every kind of malformed file.
func writeRaw(header: String, data: [UInt8], to path: String, declaredLength: UInt64? = nil) {
    var bytes = [UInt8]()
    var length = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: Array(header.utf8))
    bytes.append(contentsOf: data)
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

@Suite struct SafetensorsTests {
    @Test func roundTripPreservesValuesShapesAndMetadata() throws {
        let path = temporaryPath("roundtrip.safetensors")
        let a = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 1e-8, -7])
        let b = Tensor(shape: [4], scalars: [9, 8, 7, 6])
        let empty = Tensor(zeros: [0, 3])
        try SafetensorsWriter.write(["a": a, "b": b, "empty": empty], metadata: ["format": "pt"], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(try file.tensor("a") == a)
        #expect(try file.tensor("b") == b)
        #expect(try file.tensor("empty").shape == [0, 3])
        #expect(file.metadata["format"] == "pt")
        #expect(file.names == ["a", "b", "empty"])
    }

    @Test func halfAndBFloatAreUpcast() throws {
        let path = temporaryPath("half.safetensors")
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal = 0x0001. BF16: 1.0 = 0x3F80, -0.5 = 0xBF00.
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]
        let bf16: [UInt16] = [0x3F80, 0xBF00]
        var data = [UInt8]()
        for v in f16 + bf16 { data.append(UInt8(v & 0xff)); data.append(UInt8(v >> 8)) }
        let header = #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#
        writeRaw(header: header, data: data, to: path)
        let file = try SafetensorsFile(path: path)
        #expect(try file.tensor("h").scalars == [1, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        #expect(try file.tensor("b").scalars == [1, -0.5])
    }

    @Test func truncatedFileNamesFileAndProblem() throws {
        let path = temporaryPath("truncated.safetensors")
        try SafetensorsWriter.write(["w": Tensor(zeros: [16, 16])], to: path)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 100).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: path) }
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("truncated") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func malformedFilesAreRejectedWithReasons() throws {
        let cases: [(String, String, [UInt8], UInt64?, String)] = [
            ("short", "", [], 3, "truncated"),
            ("notjson", "{not json", [], nil, "not valid JSON"),
            ("badlength", "{}", [], 1 << 40, "exceeds"),
            ("baddtype", #"{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, [0], nil, "unsupported dtype Q4"),
            ("badsize", #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, Array(repeating: 0, count: 8), nil, "shape [3]"),
            ("gap", #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, Array(repeating: 0, count: 8), nil, "starts at byte 4"),
            ("trailing", #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, Array(repeating: 0, count: 8), nil, "cover 4"),
            ("overrun", #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, Array(repeating: 0, count: 8), nil, "truncated"),
        ]
        for (name, header, data, declared, message) in cases {
            let path = temporaryPath("\(name).safetensors")
            if name == "short" {
                FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
            } else {
                writeRaw(header: header, data: data, to: path, declaredLength: declared)
            }
            let error = #expect(throws: SafetensorsError.self, "\(name)") { try SafetensorsFile(path: path) }
            #expect(error?.description.contains(message) == true, "\(name): \(error?.description ?? "no error")")
            #expect(error?.description.hasPrefix(path) == true)
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: temporaryPath("does-not-exist.safetensors")) }
    }

    @Test func shardedIndexLoadsEveryShard() throws {
        let dir = temporaryPath("sharded")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try SafetensorsWriter.write(["a": Tensor(shape: [2], scalars: [1, 2])], to: dir + "/model-00001-of-00002.safetensors")
        try SafetensorsWriter.write(["b": Tensor(shape: [1], scalars: [3])], to: dir + "/model-00002-of-00002.safetensors")
        let index = #"{"metadata":{"total_size":12},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(index.utf8))
        let store = try WeightStore(directory: dir, baseName: "model")
        #expect(store.names == ["a", "b"])
        #expect(try store.tensor("b").scalars == [3])

        let broken = #"{"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(broken.utf8))
        let error = #expect(throws: SafetensorsError.self) { try WeightStore(directory: dir, baseName: "model") }
        #expect(error?.description.contains("does not contain it") == true)
    }
}
