/// Interleaved-pair 3D rotary position embedding (Wan/diffusers `WanRotaryPosEmbed`).
///
/// The head dimension is split into `[t | h | w]` parts of widths `headDim − 2·2⌊headDim/6⌋`,
/// `2⌊headDim/6⌋`, `2⌊headDim/6⌋`; pair `j` of an axis of width `d` rotates by
/// `position · 10000^(−2j/d)`. Angles are computed in double precision, as diffusers does.
public struct RotaryEmbedding3D: Sendable {
    public let headDim: Int
    public let frames: Int, height: Int, width: Int
    /// cos and sin per token and pair: `[tokens, headDim/2]`.
    public let cosines: [Float]
    public let sines: [Float]

    public var tokenCount: Int { frames * height * width }

    public init(headDim: Int, frames: Int, height: Int, width: Int, theta: Double = 10000) {
        precondition(headDim % 2 == 0, "rotary embedding needs an even head dimension, got \(headDim)")
        let hDim = 2 * (headDim / 6)
        let tDim = headDim - 2 * hDim
        self.headDim = headDim
        self.frames = frames
        self.height = height
        self.width = width
        func frequencies(_ d: Int) -> [Double] {
            (0..<(d / 2)).map { j in 1.0 / Foundation.pow(theta, Double(2 * j) / Double(d)) }
        }
        let ft = frequencies(tDim), fh = frequencies(hDim), fw = frequencies(hDim)
        let pairs = headDim / 2
        var cosines = [Float](repeating: 0, count: frames * height * width * pairs)
        var sines = cosines
        var token = 0
        for f in 0..<frames {
            for h in 0..<height {
                for w in 0..<width {
                    var j = 0
                    for (position, freqs) in [(f, ft), (h, fh), (w, fw)] {
                        for freq in freqs {
                            let angle = Double(position) * freq
                            cosines[token * pairs + j] = Float(Foundation.cos(angle))
                            sines[token * pairs + j] = Float(Foundation.sin(angle))
                            j += 1
                        }
                    }
                    token += 1
                }
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates every head of `x` (`[tokens, heads·headDim]`) in place.
    public func apply(to x: UnsafeMutablePointer<Float>, heads: Int, context: ComputeContext) {
        let pairs = headDim / 2
        let width = heads * headDim
        let shared = SharedPointer(x)
        cosines.withUnsafeBufferPointer { cosBuffer in
            sines.withUnsafeBufferPointer { sinBuffer in
                let c = SharedConstPointer(cosBuffer.baseAddress!), s = SharedConstPointer(sinBuffer.baseAddress!)
                context.parallelFor(tokenCount, minimumPerWorker: 64) { range in
                    for token in range {
                        let cRow = c.base + token * pairs, sRow = s.base + token * pairs
                        for head in 0..<heads {
                            let v = shared.base + token * width + head * headDim
                            for j in 0..<pairs {
                                let a = v[2 * j], b = v[2 * j + 1]
                                v[2 * j] = a * cRow[j] - b * sRow[j]
                                v[2 * j + 1] = a * sRow[j] + b * cRow[j]
                            }
                        }
                    }
                }
            }
        }
    }
}

import Foundation
