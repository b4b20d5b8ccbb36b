import Dispatch
import COpenBLAS

/// Matrix products through OpenBLAS.
public enum BLAS {
    /// C[m×n] = alpha · A[m×k] · op(B) + beta · C, row-major, where op(B) is B[k×n] or, with
    /// `transposeB`, the transpose of B[n×k]. Leading dimensions default to packed rows.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda ?? k),
            b, Int32(ldb ?? (transposeB ? k : n)),
            beta, c, Int32(ldc ?? n))
    }
}

extension BLAS {
    /// `gemm` split by rows of C across the context's workers. Each row of C is computed by one
    /// single-threaded OpenBLAS call with the same summation order however the rows are split, so
    /// the result does not depend on the thread count.
    public static func parallelGemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        context: ComputeContext
    ) {
        let rowBlock = 16
        let blocks = (m + rowBlock - 1) / rowBlock
        let workers = min(context.threads, blocks, max(1, (m * n * k) / 4_000_000))
        let lda = lda ?? k, ldc = ldc ?? n
        let ldb = ldb ?? (transposeB ? k : n)
        if workers <= 1 {
            gemm(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB, beta: beta, c: c, ldc: ldc)
            return
        }
        let sa = SharedConstPointer(a), sb = SharedConstPointer(b), sc = SharedPointer(c)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let first = blocks * worker / workers * rowBlock
            let last = min(m, blocks * (worker + 1) / workers * rowBlock)
            guard first < last else { return }
            gemm(m: last - first, n: n, k: k, alpha: alpha, a: sa.base + first * lda, lda: lda, b: sb.base, ldb: ldb,
                 transposeB: transposeB, beta: beta, c: sc.base + first * ldc, ldc: ldc)
        }
    }
}

/// A fully connected layer `y = x·Wᵀ + b` with PyTorch's weight layout `[out, in]`.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "linear weight must be 2-D, got \(weight.shape)")
        if let bias { precondition(bias.shape == [weight.shape[0]], "bias \(bias.shape) does not match weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    /// Applies the layer to `rows` row vectors at `x`, writing `rows × outFeatures` values to `y`.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let out = outFeatures
        if let bias {
            bias.scalars.withUnsafeBufferPointer { b in
                for r in 0..<rows { (y + r * out).update(from: b.baseAddress!, count: out) }
            }
        }
        weight.scalars.withUnsafeBufferPointer { w in
            BLAS.parallelGemm(m: rows, n: out, k: inFeatures, a: x, b: w.baseAddress!, transposeB: true,
                              beta: bias == nil ? 0 : 1, c: y, context: context)
        }
    }

    /// Applies the layer to the last dimension of `x`.
    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        precondition(x.shape.last == inFeatures, "linear expects last dimension \(inFeatures), got \(x.shape)")
        let rows = x.count / inFeatures
        var y = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        x.scalars.withUnsafeBufferPointer { xp in
            y.scalars.withUnsafeMutableBufferPointer { yp in
                apply(xp.baseAddress!, rows: rows, into: yp.baseAddress!, context: context)
            }
        }
        return y
    }
}
