import Foundation
import Testing
@testable import MoviolaMedia

@Suite struct VisibleLabelTests {
    func grey(_ w: Int, _ h: Int) -> RGBImage { RGBImage(width: w, height: h, pixels: [UInt8](repeating: 128, count: w * h * 3)) }

    /// Rows and columns where the label made near-white text pixels.
    func textExtent(_ image: RGBImage) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>)? {
        var rows: [Int] = [], cols: [Int] = []
        for y in 0..<image.height {
            for x in 0..<image.width where image.pixels[(y * image.width + x) * 3] > 230 { rows.append(y); cols.append(x) }
        }
        guard let r0 = rows.min(), let r1 = rows.max(), let c0 = cols.min(), let c1 = cols.max() else { return nil }
        return (r0...r1, c0...c1)
    }

    @Test(arguments: [(448, 256), (256, 448), (256, 256), (1280, 720)])
    func bannerIsLargeEnoughAndFits(width: Int, height: Int) throws {
        let label = try VisibleLabel(width: width, height: height, framesPerSecond: 16)
        #expect(Double(label.textHeight) >= 0.06 * Double(min(width, height)))
        // Only the banner (lower half) is measured; the badge sits in the top corner.
        let frame = label.apply(to: grey(width, height), frameIndex: 0)
        let lower = RGBImage(width: width, height: height / 2, pixels: Array(frame.pixels[((height - height / 2) * width * 3)...]))
        let extent = try #require(textExtent(lower))
        #expect(Double(extent.rows.count) >= 0.05 * Double(min(width, height)))
        #expect(extent.cols.lowerBound > 0 && extent.cols.upperBound < width - 1)
    }

    @Test func bannerShowsThreeSecondsThenFadesBadgeStays() throws {
        let label = try VisibleLabel(width: 448, height: 256, framesPerSecond: 16)
        #expect(label.bannerOpacity(frameIndex: 0) == 1)
        #expect(label.bannerOpacity(frameIndex: 47) == 1)
        #expect(label.bannerOpacity(frameIndex: 52) > 0 && label.bannerOpacity(frameIndex: 52) < 1)
        #expect(label.bannerOpacity(frameIndex: 60) == 0)
        let late = label.apply(to: grey(448, 256), frameIndex: 80)
        let upper = RGBImage(width: 448, height: 64, pixels: Array(late.pixels[0..<(448 * 64 * 3)]))
        let badge = try #require(textExtent(upper))
        #expect(badge.cols.lowerBound > 448 / 2)
        let lower = RGBImage(width: 448, height: 128, pixels: Array(late.pixels[(128 * 448 * 3)...]))
        #expect(textExtent(lower) == nil)
    }

    @Test func textWithoutGlyphsIsRefused() {
        #expect(throws: MediaError.self) { try VisibleLabel(text: "ИИ-видео", width: 448, height: 256, framesPerSecond: 16) }
        #expect(throws: MediaError.self) { try VisibleLabel(text: "   ", width: 448, height: 256, framesPerSecond: 16) }
    }
}
