import Foundation
import Testing
@testable import MoviolaMedia

@Suite struct WatermarkTests {
    func scene(_ t: Int, width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                let inDisc = (x - 40 - 2 * t) * (x - 40 - 2 * t) + (y - height / 2) * (y - height / 2) < 400
                pixels[i] = inDisc ? 220 : UInt8(60 + y * 100 / height)
                pixels[i + 1] = inDisc ? 40 : UInt8(90 + y * 80 / height)
                pixels[i + 2] = inDisc ? 40 : 170
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func roundTripWithoutCompression() {
        let id: UInt64 = 0x0123_4567_89AB_CDEF
        let embedder = Watermark.Embedder(width: 256, height: 144, id: id)
        var detector = Watermark.Detector()
        for t in 0..<8 { detector.add(embedder.apply(scene(t, width: 256, height: 144))) }
        let found = detector.detect()
        #expect(found?.id == id)
        #expect((found?.confidence ?? 0) > 0.5)
    }

    @Test func unmarkedFramesGiveNothing() {
        var detector = Watermark.Detector()
        for t in 0..<8 { detector.add(scene(t, width: 256, height: 144)) }
        #expect(detector.detect() == nil)
    }

    @Test func croppedCopyIsStillRead() {
        let id: UInt64 = 0xFEDC_BA98_7654_3210
        let embedder = Watermark.Embedder(width: 320, height: 180, id: id)
        var detector = Watermark.Detector()
        for t in 0..<8 {
            let frame = embedder.apply(scene(t, width: 320, height: 180))
            // Keep the middle 90 % of each side.
            let (x0, y0, w, h) = (16, 9, 288, 162)
            var pixels = [UInt8]()
            for y in y0..<(y0 + h) { pixels += frame.pixels[((y * 320 + x0) * 3)..<((y * 320 + x0 + w) * 3)] }
            detector.add(RGBImage(width: w, height: h, pixels: pixels))
        }
        #expect(detector.detect()?.id == id)
    }
}

@Suite struct WatermarkRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/watermark").path

    /// A real clip from the bundled model whose watermark the service once failed to read (see the fixture's README).
    @Test func busyBundledClipDecodes() throws {
        var detector = Watermark.Detector()
        _ = try MediaReader.decode(path: Self.fixtures + "/busy-bundled-clip.mp4") { detector.add($0) }
        let found = detector.detect()
        #expect(found?.id == 0xE2A4_080A_F216_C040)
        #expect((found?.zScore ?? 0) > 6)
    }
}
