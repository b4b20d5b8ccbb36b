/// Row-wise normalisations over the last dimension. All accumulate in double precision.
public enum Normalization {
    /// LayerNorm over rows of `dim` values, optionally affine, then optionally modulated as
    /// `y·(1 + scale) + shift` (adaLN). `scale`/`shift` hold one row of `dim` values, or one row per
    /// input row when `modulationRowStride` is `dim`. `x` and `y` may be the same buffer.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float,
        weight: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>? = nil,
        scale: UnsafePointer<Float>? = nil, shift: UnsafePointer<Float>? = nil, modulationRowStride: Int = 0,
        into y: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        let src = SharedConstPointer(x), dst = SharedPointer(y)
        let w = weight.map(SharedConstPointer.init), b = bias.map(SharedConstPointer.init)
        let sc = scale.map(SharedConstPointer.init), sh = shift.map(SharedConstPointer.init)
        context.parallelFor(rows, minimumPerWorker: 16) { range in
            for r in range {
                let row = src.base + r * dim
                let out = dst.base + r * dim
                var sum = 0.0
                for i in 0..<dim { sum += Double(row[i]) }
                let mean = sum / Double(dim)
                var sq = 0.0
                for i in 0..<dim {
                    let d = Double(row[i]) - mean
                    sq += d * d
                }
                let inv = Float(1 / (sq / Double(dim) + Double(eps)).squareRoot())
                let m = Float(mean)
                for i in 0..<dim { out[i] = (row[i] - m) * inv }
                if let w { for i in 0..<dim { out[i] *= w.base[i] } }
                if let b { for i in 0..<dim { out[i] += b.base[i] } }
                if let sc {
                    let s = sc.base + r * modulationRowStride
                    for i in 0..<dim { out[i] = out[i] * (1 + s[i]) }
                }
                if let sh {
                    let s = sh.base + r * modulationRowStride
                    for i in 0..<dim { out[i] += s[i] }
                }
            }
        }
    }

    /// RMSNorm over rows: `x · rsqrt(mean(x²) + eps) · weight`. In place when `x == y`.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, dim: Int, eps: Float, weight: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        let src = SharedConstPointer(x), dst = SharedPointer(y)
        let w = weight.map(SharedConstPointer.init)
        context.parallelFor(rows, minimumPerWorker: 16) { range in
            for r in range {
                let row = src.base + r * dim
                let out = dst.base + r * dim
                var sq = 0.0
                for i in 0..<dim { sq += Double(row[i]) * Double(row[i]) }
                let inv = Float(1 / (sq / Double(dim) + Double(eps)).squareRoot())
                if let w {
                    for i in 0..<dim { out[i] = row[i] * inv * w.base[i] }
                } else {
                    for i in 0..<dim { out[i] = row[i] * inv }
                }
            }
        }
    }
}
