import Foundation
import Testing
@testable import MoviolaMedia

func mediaScratch(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "moviola-media-tests-\(ProcessInfo.processInfo.processIdentifier)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/" + name
}

/// A moving colour gradient with a square, so motion and colour survive compression visibly.
func testFrame(_ t: Int, width: Int, height: Int) -> RGBImage {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            let inSquare = abs(x - (8 + 3 * t)) < 6 && abs(y - height / 2) < 6
            pixels[i] = inSquare ? 230 : UInt8(x * 255 / width)
            pixels[i + 1] = inSquare ? 40 : UInt8(y * 255 / height)
            pixels[i + 2] = inSquare ? 30 : 128
        }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
    var mse = 0.0
    for i in 0..<a.pixels.count { let d = Double(a.pixels[i]) - Double(b.pixels[i]); mse += d * d }
    mse /= Double(a.pixels.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

@Suite struct MP4Tests {
    func write(_ path: String, frames: Int = 17, width: Int = 64, height: Int = 48, fps: Int = 16) throws {
        let writer = try MP4Writer(path: path, width: width, height: height,
                                   options: VideoEncodingOptions(framesPerSecond: fps, crf: 18, metadata: ["comment": "moviola test"]))
        for t in 0..<frames { try writer.append(testFrame(t, width: width, height: height)) }
        try writer.finish()
    }

    @Test func writesH264WithRequestedFramesSizeRateAndTags() throws {
        let path = mediaScratch("clip.mp4")
        try write(path)
        let (info, frames) = try MediaReader.decodeVideo(path: path)
        #expect(info.codec == "h264")
        #expect(info.width == 64 && info.height == 48)
        #expect(info.frameCount == 17)
        #expect(abs(info.framesPerSecond - 16) < 1e-9)
        #expect(info.pixelFormat == "yuv420p")
        #expect(info.colorPrimaries == "bt709" && info.colorTransfer == "bt709" && info.colorSpace == "bt709")
        #expect(info.metadata["comment"] == "moviola test")
        for (t, frame) in frames.enumerated() {
            #expect(psnr(frame, testFrame(t, width: 64, height: 48)) > 30, "frame \(t)")
        }
    }

    @Test func indexIsAtTheFrontForStreaming() throws {
        let path = mediaScratch("faststart.mp4")
        try write(path, frames: 5)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let moov = bytes.range(of: Data("moov".utf8))!.lowerBound
        let mdat = bytes.range(of: Data("mdat".utf8))!.lowerBound
        #expect(moov < mdat)
    }

    @Test func sameFramesGiveBitIdenticalFiles() throws {
        let a = mediaScratch("a.mp4"), b = mediaScratch("b.mp4")
        try write(a)
        try write(b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }

    @Test func impossibleSizesAndBadFilesAreClearErrors() throws {
        #expect(throws: MediaError.self) { try MP4Writer(path: mediaScratch("odd.mp4"), width: 63, height: 48, options: .init()) }
        #expect(throws: MediaError.self) { try MP4Writer(path: "/nonexistent-dir/x.mp4", width: 64, height: 48, options: .init()) }
        let junk = mediaScratch("junk.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: junk))
        let error = #expect(throws: MediaError.self) { try MediaReader.decodeImage(path: junk) }
        #expect(error?.message.hasPrefix(junk) == true)
        #expect(throws: MediaError.self) { try MediaReader.decodeImage(path: mediaScratch("missing.png")) }
    }
}

@Suite struct FrameRateConverterTests {
    func flat(_ value: UInt8) -> RGBImage { RGBImage(width: 2, height: 1, pixels: [UInt8](repeating: value, count: 6)) }

    @Test func doublingBlendsMidpointsAndKeepsEnds() {
        var converter = FrameRateConverter(from: 8, to: 16)
        var out: [RGBImage] = []
        for value: UInt8 in [0, 100, 200] { out += converter.push(flat(value)) }
        #expect(out.map { $0.pixels[0] } == [0, 50, 100, 150, 200])
        #expect(FrameRateConverter.outputCount(inputFrames: 3, from: 8, to: 16) == out.count)
    }

    @Test func nonIntegerRatioFollowsTime() {
        // 16 -> 24 fps: output j shows source time j * 16 / 24 frames.
        var converter = FrameRateConverter(from: 16, to: 24)
        var out: [RGBImage] = []
        for value: UInt8 in [0, 30, 60, 90, 120] { out += converter.push(flat(value)) }
        #expect(out.map { $0.pixels[0] } == [0, 20, 40, 60, 80, 100, 120])
        #expect(FrameRateConverter.outputCount(inputFrames: 5, from: 16, to: 24) == 7)
    }

    @Test func sameRateIsIdentity() {
        var converter = FrameRateConverter(from: 16, to: 16)
        var out: [RGBImage] = []
        for value: UInt8 in [5, 6, 7] { out += converter.push(flat(value)) }
        #expect(out.map { $0.pixels[0] } == [5, 6, 7])
    }
}
