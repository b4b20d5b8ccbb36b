import CFreeType
import Foundation

/// The burned-in AI-content label: a banner across the lower part of the frame for the opening
/// seconds (em height 7 % of the short side: CJK glyphs about 6 %, Latin capitals about 5 %, GB 45438 asks for 5 %), fading out after, and a
/// corner badge for the whole clip. Text is rasterised with FreeType from the bundled font subset
/// at the exact pixel size, so it is crisp at any frame size.
public struct VisibleLabel: Sendable {
    public static let defaultText = "AI生成 · AI-generated"
    public static let badgeText = "AI生成"
    /// Seconds the banner is fully shown, then seconds it fades over.
    public static let bannerSeconds = 3.0
    public static let fadeSeconds = 0.5

    /// A premultiplied white-on-dark layer over a rectangle of the frame.
    struct Layer: Sendable {
        let x: Int, y: Int, width: Int, height: Int
        let alpha: [Float]     // coverage of the layer (plate and text)
        let value: [Float]     // premultiplied grey value in 0…255
    }

    public let width: Int
    public let height: Int
    public let framesPerSecond: Int
    public let text: String
    /// Pixel height of the banner's em square (CJK glyphs fill it).
    public let textHeight: Int
    let banner: Layer
    let badge: Layer

    public static var fontPath: String? {
        Bundle.module.path(forResource: "MoviolaLabel-NotoSansSC-Bold", ofType: "otf", inDirectory: "Fonts")
    }

    public init(text: String = VisibleLabel.defaultText, width: Int, height: Int, framesPerSecond: Int) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw MediaError("the visible label text is empty") }
        guard let fontPath = Self.fontPath else { throw MediaError("the label font is missing from the build (Fonts/ resource)") }
        let font = try Font(path: fontPath)
        let missing = trimmed.unicodeScalars.filter { !$0.properties.isWhitespace && !font.has($0) }
        guard missing.isEmpty else {
            throw MediaError("the label font has no glyph for \(String(String.UnicodeScalarView(missing)).debugDescription); the bundled subset covers ASCII and the usual 人工智能生成/合成内容 label phrases (tools/fonts/make_label_font.py adds more)")
        }
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.text = trimmed
        let short = min(width, height)
        var size = max(10, Int((Double(short) * 0.07).rounded(.up)))
        // One line if it fits in 92 % of the width, else two lines split at "·", else smaller (never below 6 %, so capitals stay above 5 %).
        var lines = [trimmed]
        if font.measure(trimmed, pixelSize: size) > Int(Double(width) * 0.92) {
            let parts = trimmed.split(separator: "·").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if parts.count > 1 { lines = parts }
            let minimum = max(10, Int((Double(short) * 0.06).rounded(.up)))
            while size > minimum && lines.map({ font.measure($0, pixelSize: size) }).max()! > Int(Double(width) * 0.92) { size -= 1 }
        }
        textHeight = size
        banner = try Self.layer(font: font, lines: lines, pixelSize: size, frameWidth: width, frameHeight: height, corner: false)
        let badgeSize = max(9, Int((Double(short) * 0.04).rounded(.up)))
        badge = try Self.layer(font: font, lines: [Self.badgeText], pixelSize: badgeSize, frameWidth: width, frameHeight: height, corner: true)
    }

    /// How much of the banner shows in frame `index` (1 for the opening seconds, then fading to 0).
    public func bannerOpacity(frameIndex index: Int) -> Float {
        let t = Double(index) / Double(framesPerSecond)
        if t < Self.bannerSeconds { return 1 }
        return Float(max(0, 1 - (t - Self.bannerSeconds) / Self.fadeSeconds))
    }

    public func apply(to image: RGBImage, frameIndex: Int) -> RGBImage {
        precondition(image.width == width && image.height == height, "label made for \(width)x\(height)")
        var pixels = image.pixels
        let opacity = bannerOpacity(frameIndex: frameIndex)
        if opacity > 0 { Self.blend(banner, opacity: opacity, into: &pixels, width: width) }
        // The corner badge stays for the whole clip.
        Self.blend(badge, opacity: 1, into: &pixels, width: width)
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func blend(_ layer: Layer, opacity: Float, into pixels: inout [UInt8], width: Int) {
        pixels.withUnsafeMutableBufferPointer { out in
            for row in 0..<layer.height {
                for col in 0..<layer.width {
                    let i = row * layer.width + col
                    let a = layer.alpha[i] * opacity
                    if a <= 0 { continue }
                    let v = layer.value[i] * opacity
                    let p = ((layer.y + row) * width + layer.x + col) * 3
                    for k in 0..<3 {
                        out[p + k] = UInt8(clamping: Int((Float(out[p + k]) * (1 - a) + v).rounded()))
                    }
                }
            }
        }
    }

    /// Text (white) on a rounded dark plate (60 % opaque), centred near the bottom or in the top-right corner.
    static func layer(font: Font, lines: [String], pixelSize: Int, frameWidth: Int, frameHeight: Int, corner: Bool) throws -> Layer {
        let lineHeight = Int((Double(pixelSize) * 1.25).rounded())
        let padX = max(3, pixelSize / 2), padY = max(2, pixelSize / 4)
        let textWidth = lines.map { font.measure($0, pixelSize: pixelSize) }.max() ?? 0
        let w = min(frameWidth, textWidth + 2 * padX), h = min(frameHeight, lineHeight * lines.count + 2 * padY)
        let margin = max(2, Int(Double(min(frameWidth, frameHeight)) * 0.03))
        let x = corner ? max(0, frameWidth - w - margin) : max(0, (frameWidth - w) / 2)
        let y = corner ? min(margin, frameHeight - h) : max(0, frameHeight - h - Int(Double(frameHeight) * 0.06))
        var coverage = [Float](repeating: 0, count: w * h)
        for (n, line) in lines.enumerated() {
            let lineWidth = font.measure(line, pixelSize: pixelSize)
            let baseline = padY + n * lineHeight + Int((Double(lineHeight) * 0.8).rounded()) - (lineHeight - pixelSize) / 2
            try font.draw(line, pixelSize: pixelSize, originX: (w - lineWidth) / 2, baseline: baseline, into: &coverage, width: w, height: h)
        }
        var alpha = [Float](repeating: 0, count: w * h), value = [Float](repeating: 0, count: w * h)
        let radius = Float(max(2, pixelSize / 3)), plate: Float = 0.6
        for row in 0..<h {
            for col in 0..<w {
                // Rounded corners: distance outside the inner rectangle.
                let dx = max(0, max(radius - Float(col) - 0.5, Float(col) + 0.5 - (Float(w) - radius)))
                let dy = max(0, max(radius - Float(row) - 0.5, Float(row) + 0.5 - (Float(h) - radius)))
                let inside = min(1, max(0, radius - (dx * dx + dy * dy).squareRoot() + 0.5))
                let c = coverage[row * w + col]
                let a = plate * inside * (1 - c) + c
                alpha[row * w + col] = a
                value[row * w + col] = 255 * c + 20 * plate * inside * (1 - c)
            }
        }
        return Layer(x: x, y: y, width: w, height: h, alpha: alpha, value: value)
    }

    /// A FreeType face for one label (not shared across threads).
    final class Font {
        var library: FT_Library?
        var face: FT_Face?

        init(path: String) throws {
            guard FT_Init_FreeType(&library) == 0 else { throw MediaError("FreeType failed to start") }
            guard FT_New_Face(library, path, 0, &face) == 0, face != nil else {
                FT_Done_FreeType(library)
                throw MediaError("\(path): not a font FreeType can read")
            }
        }

        deinit {
            if let face { FT_Done_Face(face) }
            if let library { FT_Done_FreeType(library) }
        }

        func has(_ scalar: Unicode.Scalar) -> Bool { FT_Get_Char_Index(face, FT_ULong(scalar.value)) != 0 }

        func measure(_ text: String, pixelSize: Int) -> Int {
            FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize))
            var advance = 0
            for scalar in text.unicodeScalars where FT_Load_Char(face, FT_ULong(scalar.value), FT_Int32(FT_LOAD_DEFAULT)) == 0 {
                advance += Int(face!.pointee.glyph.pointee.advance.x) >> 6
            }
            return advance
        }

        func draw(_ text: String, pixelSize: Int, originX: Int, baseline: Int, into coverage: inout [Float], width: Int, height: Int) throws {
            FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize))
            var penX = originX
            for scalar in text.unicodeScalars {
                guard FT_Load_Char(face, FT_ULong(scalar.value), FT_Int32(FT_LOAD_RENDER)) == 0, let glyph = face?.pointee.glyph else {
                    throw MediaError("FreeType could not render U+\(String(scalar.value, radix: 16, uppercase: true))")
                }
                let bitmap = glyph.pointee.bitmap
                let left = penX + Int(glyph.pointee.bitmap_left), top = baseline - Int(glyph.pointee.bitmap_top)
                if let buffer = bitmap.buffer {
                    for row in 0..<Int(bitmap.rows) {
                        for col in 0..<Int(bitmap.width) {
                            let x = left + col, y = top + row
                            guard x >= 0, x < width, y >= 0, y < height else { continue }
                            let c = Float(buffer[row * Int(bitmap.pitch) + col]) / 255
                            coverage[y * width + x] = max(coverage[y * width + x], c)
                        }
                    }
                }
                penX += Int(glyph.pointee.advance.x) >> 6
            }
        }
    }
}
