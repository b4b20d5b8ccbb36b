import Foundation
import MoviolaTensor

/// Paths to the committed reference fixtures produced by tools/fixtures/make_engine_fixtures.py.
enum Fixtures {
    static let root: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func tensors(_ relative: String) throws -> SafetensorsFile { try SafetensorsFile(path: path(relative)) }
}

/// A fresh folder for one test; unique per call, since tests run in parallel and may ask for the same name.
func scratchDirectory(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "moviola-engine-tests-\(ProcessInfo.processInfo.processIdentifier)/\(name)-\(UUID().uuidString)"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func copyFolder(_ source: String, to destination: String) throws {
    try? FileManager.default.removeItem(atPath: destination)
    try FileManager.default.copyItem(atPath: source, toPath: destination)
}
