import Foundation
import MoviolaSafety
import Testing

/// The Haar cascade detector on real photographs (Tests/Fixtures/faces, see its README), with
/// OpenCV's frontal-face cascade from Debian's opencv-data.
@Suite("Face detection")
struct FaceDetectorTests {
    static func image(_ name: String) throws -> GrayImage {
        // Decoded with ffmpeg to raw gray pixels, so the test needs no image library of its own.
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/faces/\(name)").path
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path]
        let pipe = Pipe()
        probe.standardOutput = pipe
        try probe.run()
        probe.waitUntilExit()
        let size = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        let decode = Process()
        decode.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        decode.arguments = ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"]
        let out = Pipe()
        decode.standardOutput = out
        try decode.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        decode.waitUntilExit()
        return GrayImage(width: size[0], height: size[1], pixels: [UInt8](data))
    }

    static let cascade = try? HaarCascade()

    @Test("finds the face in portraits", arguments: ["face-astronaut.jpg", "face-astronaut-mirrored-small.jpg"])
    func faces(name: String) throws {
        let cascade = try #require(Self.cascade, "opencv-data is not installed (scripts/install-system-deps.sh installs it)")
        let faces = cascade.detect(try Self.image(name))
        #expect(faces.count >= 1, "\(name)")
    }

    @Test("finds none in a cat, a cup and a rocket", arguments: ["noface-cat.jpg", "noface-coffee.jpg", "noface-rocket.jpg"])
    func noFaces(name: String) throws {
        let cascade = try #require(Self.cascade)
        #expect(cascade.detect(try Self.image(name)).isEmpty, "\(name)")
    }

    @Test("a missing or foreign cascade file is a clear error")
    func badFiles() {
        #expect(throws: PolicyError.self) { try HaarCascade(path: "/nonexistent/cascade.xml") }
        let path = NSTemporaryDirectory() + "not-a-cascade.xml"
        try? "<opencv_storage></opencv_storage>".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PolicyError.self) { try HaarCascade(path: path) }
    }

    @Test("in a video, a face counts only when two samples in a row show it")
    func persistentFaces() {
        #expect(ImageFacts(facesPerSampledFrame: [1, 0, 0, 0]).faces == 0)   // a false positive in a noisy first frame
        #expect(ImageFacts(facesPerSampledFrame: [0, 1, 0, 1, 0]).faces == 0)
        #expect(ImageFacts(facesPerSampledFrame: [0, 1, 1, 0]).faces == 1)
        #expect(ImageFacts(facesPerSampledFrame: [2, 2, 1, 3, 3]).faces == 3)
        #expect(ImageFacts(facesPerSampledFrame: [2]).faces == 2)           // one sample is taken as it is
        #expect(ImageFacts(facesPerSampledFrame: []).faces == 0)
    }
}
