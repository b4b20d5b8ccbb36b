/// Vectorised elementary functions for the hot loops (softmax, GELU, SiLU).
///
/// `exp` uses a Cody–Waite range reduction and a degree-6 polynomial; its relative error is
/// below 2·10⁻⁷ over the float range, well inside the engine's 10⁻⁴ parity tolerance.
public enum FastMath {
    public typealias Vector = SIMD8<Float>

    @inlinable @inline(__always)
    public static func exp(_ input: Vector) -> Vector {
        let x = minimum(maximum(input, Vector(repeating: -87.33654)), Vector(repeating: 88.3762626647949))
        // Round x·log2(e) to the nearest integer by adding 1.5·2²³: the integer lands in the low
        // mantissa bits, so no float→int conversion is needed.
        let shifter = Vector(repeating: 12_582_912)
        let t = x * 1.44269504088896341 + shifter
        let n = t - shifter
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
        let exponent = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127
        return p * unsafeBitCast(exponent &<< 23, to: Vector.self)
    }

    /// Lane-wise maximum (NaN-agnostic, so it compiles to a single vector instruction, unlike
    /// the standard library's IEEE `pointwiseMax`).
    @inlinable @inline(__always)
    public static func maximum(_ a: Vector, _ b: Vector) -> Vector {
        var r = a
        for i in 0..<8 { r[i] = a[i] > b[i] ? a[i] : b[i] }
        return r
    }

    /// Lane-wise minimum, see `maximum`.
    @inlinable @inline(__always)
    public static func minimum(_ a: Vector, _ b: Vector) -> Vector {
        var r = a
        for i in 0..<8 { r[i] = a[i] < b[i] ? a[i] : b[i] }
        return r
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
