import CMoviolaKernels
import Foundation

/// Multi-head scaled-dot-product attention without a mask, computed block by block with an
/// online softmax so that no `queries × keys` matrix is ever held in full.
///
/// Queries, keys, values and the output are `[tokens, heads·headDim]` row-major matrices (head
/// `h` occupies columns `h·headDim ..< (h+1)·headDim`), which is the layout the projections
/// produce, so no transposes are needed. Each (head, query block) pair is independent work, so
/// the result does not depend on how threads are scheduled.
public enum Attention {
    /// Rows of queries handled together; sized so the score block stays in L2.
    public static let queryBlock = 128
    /// Keys scored together before the running softmax is updated.
    public static let keyBlock = 512

    public static func multiHead(
        queries: UnsafePointer<Float>, queryCount: Int,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyCount: Int,
        heads: Int, headDim: Int, scale: Float,
        into output: UnsafeMutablePointer<Float>,
        context: ComputeContext
    ) {
        guard queryCount > 0 else { return }
        let width = heads * headDim
        let qBlocks = (queryCount + queryBlock - 1) / queryBlock
        let tasks = heads * qBlocks
        let q = SharedConstPointer(queries), k = SharedConstPointer(keys), v = SharedConstPointer(values)
        let out = SharedPointer(output)
        let workers = min(context.threads, tasks)
        let kBlock = min(keyBlock, max(keyCount, 1))

        do {
            let run: @Sendable (Int) -> Void = { worker in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * kBlock)
                let accumulator = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock * headDim)
                let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
                let rowSum = UnsafeMutablePointer<Float>.allocate(capacity: queryBlock)
                defer {
                    scores.deallocate(); accumulator.deallocate(); rowMax.deallocate(); rowSum.deallocate()
                }
                var task = worker
                while task < tasks {
                    let head = task / qBlocks
                    let q0 = (task % qBlocks) * queryBlock
                    let rows = min(queryBlock, queryCount - q0)
                    let qPtr = q.base + q0 * width + head * headDim
                    accumulator.initialize(repeating: 0, count: rows * headDim)
                    rowMax.initialize(repeating: -.infinity, count: rows)
                    rowSum.initialize(repeating: 0, count: rows)
                    var k0 = 0
                    while k0 < keyCount {
                        let cols = min(kBlock, keyCount - k0)
                        BLAS.gemm(m: rows, n: cols, k: headDim, alpha: scale,
                                  a: qPtr, lda: width,
                                  b: k.base + k0 * width + head * headDim, ldb: width, transposeB: true,
                                  c: scores, ldc: cols)
                        for r in 0..<rows {
                            let s = scores + r * cols
                            let blockMax = maxValue(s, count: cols)
                            let newMax = max(rowMax[r], blockMax)
                            let correction = rowMax[r] == -.infinity ? 0 : FastMath.exp(rowMax[r] - newMax)
                            let blockSum = exponentiate(s, count: cols, subtracting: newMax)
                            rowSum[r] = rowSum[r] * correction + blockSum
                            rowMax[r] = newMax
                            if k0 > 0 && correction != 1 {
                                let acc = accumulator + r * headDim
                                for i in 0..<headDim { acc[i] *= correction }
                            }
                        }
                        BLAS.gemm(m: rows, n: headDim, k: cols,
                                  a: scores, lda: cols,
                                  b: v.base + k0 * width + head * headDim, ldb: width, transposeB: false,
                                  beta: 1, c: accumulator, ldc: headDim)
                        k0 += cols
                    }
                    for r in 0..<rows {
                        let inv = 1 / rowSum[r]
                        let dst = out.base + (q0 + r) * width + head * headDim
                        let acc = accumulator + r * headDim
                        for i in 0..<headDim { dst[i] = acc[i] * inv }
                    }
                    task += workers
                }
            }
            if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
        }
    }

    @inline(__always)
    static func maxValue(_ p: UnsafePointer<Float>, count: Int) -> Float {
        moviola_max(p, count)
    }

    /// Replaces `p[i]` by `exp(p[i] − shift)` and returns the sum.
    @inline(__always)
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, count: Int, subtracting shift: Float) -> Float {
        moviola_exp_shifted_sum(p, count, shift)
    }
}
