/// Streams frames from one frame rate to another by blending the two nearest source frames
/// linearly in time (frame `j` of the output shows source time `j / outputRate`). Used to write a
/// model's low-rate clips at a smooth playback rate; the first and last frames are kept exactly.
public struct FrameRateConverter: Sendable {
    public let inputRate: Int
    public let outputRate: Int
    private var previous: RGBImage?
    private var received = 0
    private var emitted = 0

    public init(from inputRate: Int, to outputRate: Int) {
        precondition(inputRate > 0 && outputRate > 0, "frame rates must be positive")
        self.inputRate = inputRate
        self.outputRate = outputRate
    }

    /// Output frames for `count` input frames: every output time up to the last input frame's.
    public static func outputCount(inputFrames count: Int, from inputRate: Int, to outputRate: Int) -> Int {
        count <= 0 ? 0 : (count - 1) * outputRate / inputRate + 1
    }

    /// Takes the next source frame; returns the output frames that now can be made.
    public mutating func push(_ frame: RGBImage) -> [RGBImage] {
        defer { previous = frame; received += 1 }
        guard let previous else {
            emitted = 1
            return [frame]
        }
        precondition(previous.width == frame.width && previous.height == frame.height, "frames change size")
        // Output frames whose time lies in (received - 1, received] in source-frame units.
        var out: [RGBImage] = []
        while true {
            let numerator = emitted * inputRate  // source position = numerator / outputRate
            if numerator > received * outputRate { break }
            let fraction = Double(numerator - (received - 1) * outputRate) / Double(outputRate)
            out.append(fraction >= 1 ? frame : Self.blend(previous, frame, fraction))
            emitted += 1
        }
        return out
    }

    static func blend(_ a: RGBImage, _ b: RGBImage, _ t: Double) -> RGBImage {
        if t <= 0 { return a }
        let weight = Int((t * 256).rounded())
        var pixels = [UInt8](repeating: 0, count: a.pixels.count)
        a.pixels.withUnsafeBufferPointer { pa in
            b.pixels.withUnsafeBufferPointer { pb in
                for i in 0..<pixels.count {
                    pixels[i] = UInt8((Int(pa[i]) * (256 - weight) + Int(pb[i]) * weight + 128) >> 8)
                }
            }
        }
        return RGBImage(width: a.width, height: a.height, pixels: pixels)
    }
}
