/// Vectorised elementary functions for the hot loops (softmax, GELU, SiLU).
///
/// `exp` uses a Cody–Waite range reduction and a degree-6 polynomial; its relative error is
/// below 2·10⁻⁷ over the float range, well inside the engine's 10⁻⁴ parity tolerance.
public enum FastMath {
    public typealias Vector = SIMD8<Float>

    @inlinable @inline(__always)
    public static func exp(_ input: Vector) -> Vector {
        let x = input.clamped(lowerBound: Vector(repeating: -87.33654), upperBound: Vector(repeating: 88.3762626647949))
        let n = (x * 1.44269504088896341).rounded(.toNearestOrEven)
        var r = x - n * 0.693359375
        r = r - n * -2.12194440e-4
        // exp(r) for |r| ≤ ln2/2, Taylor–minimax coefficients (Cephes expf).
        var p: Vector = Vector(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1
        let exponent = SIMD8<Int32>(n, rounding: .towardZero) &+ 127
        let scale = unsafeBitCast(exponent &<< 23, to: Vector.self)
        return p * scale
    }

    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        exp(Vector(repeating: x))[0]
    }

    /// tanh through exp: tanh(u) = 1 − 2 / (e^{2u} + 1), exact at the saturated ends.
    @inlinable @inline(__always)
    public static func tanh(_ u: Vector) -> Vector {
        let e = exp(u * 2)
        return 1 - 2 / (e + 1)
    }
}
