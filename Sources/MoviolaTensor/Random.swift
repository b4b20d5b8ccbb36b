/// A counter-based Gaussian generator (Philox-4x32-10 + Box–Muller), so that a seed gives the
/// same noise on every machine and for every thread count.
///
/// This does not reproduce PyTorch's generator; to replay a diffusers run exactly, pass its noise
/// as a tensor instead.
public struct GaussianNoise: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// `count` standard-normal samples for stream `stream` (e.g. 0 for the initial latents).
    public func samples(_ count: Int, stream: UInt32 = 0) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var counter: UInt64 = 0
        var i = 0
        while i < count {
            let r = Self.philox(counter: (UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), stream, 0),
                                key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
            let values = [r.0, r.1, r.2, r.3]
            var j = 0
            while j < 4 && i < count {
                // Uniforms in (0, 1]: never 0, so the logarithm is finite.
                let u1 = (Double(values[j]) + 1) / 4_294_967_296.0
                let u2 = Double(values[j + 1]) / 4_294_967_296.0
                let radius = (-2 * Foundation.log(u1)).squareRoot()
                out[i] = Float(radius * Foundation.cos(2 * Double.pi * u2))
                if i + 1 < count { out[i + 1] = Float(radius * Foundation.sin(2 * Double.pi * u2)) }
                i += 2
                j += 2
            }
            counter += 1
        }
        return out
    }

    /// A tensor of standard-normal samples.
    public func tensor(shape: [Int], stream: UInt32 = 0) -> Tensor {
        Tensor(shape: shape, scalars: samples(shape.reduce(1, *), stream: stream))
    }

    static func philox(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var c = counter
        var k = key
        for round in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
            if round < 9 {
                k.0 = k.0 &+ 0x9E37_79B9
                k.1 = k.1 &+ 0xBB67_AE85
            }
        }
        return c
    }
}

import Foundation
