import CFFmpeg

/// A media problem a user can act on; names the file and what went wrong.
public struct MediaError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// FFmpeg's text for an error code.
    static func ffmpeg(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBufferPointer { String(cString: moviola_error_string(code, $0.baseAddress!, 256)) }
    }
}

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// From floats in [0, 1], `[H, W, 3]` row-major; values are clamped and rounded.
    public init(width: Int, height: Int, unitFloats: UnsafeBufferPointer<Float>) {
        precondition(unitFloats.count == width * height * 3, "float image size mismatch")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<pixels.count { pixels[i] = UInt8(max(0, min(255, (unitFloats[i] * 255).rounded()))) }
        self.init(width: width, height: height, pixels: pixels)
    }
}
