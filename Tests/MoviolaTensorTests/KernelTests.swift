import Foundation
import Testing
@testable import MoviolaTensor

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var t = GaussianNoise(seed: seed).tensor(shape: shape)
    for i in 0..<t.count { t.scalars[i] *= scale }
    return t
}

/// Attention computed naively in double precision, materialising every score.
func referenceAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, headDim: Int) -> Tensor {
    let nq = q.shape[0], nk = k.shape[0], width = heads * headDim
    var out = Tensor(zeros: [nq, width])
    let scale = 1 / Double(headDim).squareRoot()
    for h in 0..<heads {
        for i in 0..<nq {
            var scores = [Double](repeating: 0, count: nk)
            for j in 0..<nk {
                var s = 0.0
                for d in 0..<headDim { s += Double(q.scalars[i * width + h * headDim + d]) * Double(k.scalars[j * width + h * headDim + d]) }
                scores[j] = s * scale
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let total = e.reduce(0, +)
            for d in 0..<headDim {
                var acc = 0.0
                for j in 0..<nk { acc += e[j] * Double(v.scalars[j * width + h * headDim + d]) }
                out.scalars[i * width + h * headDim + d] = Float(acc / total)
            }
        }
    }
    return out
}

func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, headDim: Int, threads: Int) -> Tensor {
    var out = Tensor(zeros: q.shape)
    let ctx = ComputeContext(threads: threads)
    q.scalars.withUnsafeBufferPointer { qp in
        k.scalars.withUnsafeBufferPointer { kp in
            v.scalars.withUnsafeBufferPointer { vp in
                out.scalars.withUnsafeMutableBufferPointer { op in
                    Attention.multiHead(queries: qp.baseAddress!, queryCount: q.shape[0], keys: kp.baseAddress!, values: vp.baseAddress!,
                                        keyCount: k.shape[0], heads: heads, headDim: headDim, scale: Float(1 / Double(headDim).squareRoot()),
                                        into: op.baseAddress!, context: ctx)
                }
            }
        }
    }
    return out
}

@Suite struct KernelTests {
    @Test(arguments: [(5, 7), (130, 600), (300, 1100)])
    func blockedAttentionMatchesNaiveSoftmax(queries: Int, keys: Int) {
        let heads = 3, headDim = 16
        let q = randomTensor([queries, heads * headDim], seed: 1, scale: 0.7)
        let k = randomTensor([keys, heads * headDim], seed: 2, scale: 0.7)
        let v = randomTensor([keys, heads * headDim], seed: 3)
        let out = attention(q: q, k: k, v: v, heads: heads, headDim: headDim, threads: 2)
        let reference = referenceAttention(q: q, k: k, v: v, heads: heads, headDim: headDim)
        #expect(out.relativeError(to: reference) < 1e-5)
    }

    @Test func attentionIsBitIdenticalAcrossRunsAndThreadCounts() {
        let heads = 2, headDim = 32
        let q = randomTensor([700, heads * headDim], seed: 4)
        let k = randomTensor([700, heads * headDim], seed: 5)
        let v = randomTensor([700, heads * headDim], seed: 6)
        let a = attention(q: q, k: k, v: v, heads: heads, headDim: headDim, threads: 2)
        let b = attention(q: q, k: k, v: v, heads: heads, headDim: headDim, threads: 2)
        let c = attention(q: q, k: k, v: v, heads: heads, headDim: headDim, threads: 1)
        #expect(a == b)
        #expect(a == c)
    }

    @Test func fastExpIsAccurate() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let got = Double(FastMath.exp(x))
            let want = Foundation.exp(Double(x))
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        #expect(worst < 3e-7)
        #expect(FastMath.exp(-Float.infinity) == 0 || FastMath.exp(-Float.infinity) < 1e-37)
    }

    @Test func activationsMatchDefinitions() {
        let ctx = ComputeContext(threads: 2)
        let x = randomTensor([1003], seed: 9, scale: 3)
        let gelu = x.geluTanh(context: ctx)
        let silu = x.silu(context: ctx)
        for i in 0..<x.count {
            let v = Double(x.scalars[i])
            let g = 0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            let s = v / (1 + Foundation.exp(-v))
            #expect(abs(Double(gelu.scalars[i]) - g) < 1e-6 * max(1, abs(g)))
            #expect(abs(Double(silu.scalars[i]) - s) < 1e-6 * max(1, abs(s)))
        }
    }

    @Test func normsMatchDefinitions() {
        let ctx = ComputeContext(threads: 2)
        let rows = 37, dim = 24
        let x = randomTensor([rows, dim], seed: 11, scale: 2)
        let w = randomTensor([dim], seed: 12), b = randomTensor([dim], seed: 13)
        var ln = Tensor(zeros: [rows, dim]), rms = Tensor(zeros: [rows, dim])
        x.scalars.withUnsafeBufferPointer { xp in
            w.scalars.withUnsafeBufferPointer { wp in
                b.scalars.withUnsafeBufferPointer { bp in
                    ln.scalars.withUnsafeMutableBufferPointer { lp in
                        Normalization.layerNorm(xp.baseAddress!, rows: rows, dim: dim, eps: 1e-6, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                                into: lp.baseAddress!, context: ctx)
                    }
                    rms.scalars.withUnsafeMutableBufferPointer { rp in
                        Normalization.rmsNorm(xp.baseAddress!, rows: rows, dim: dim, eps: 1e-6, weight: wp.baseAddress!, into: rp.baseAddress!, context: ctx)
                    }
                }
            }
        }
        for r in 0..<rows {
            let row = (0..<dim).map { Double(x.scalars[r * dim + $0]) }
            let mean = row.reduce(0, +) / Double(dim)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            let meanSquare = row.map { $0 * $0 }.reduce(0, +) / Double(dim)
            for i in 0..<dim {
                let wantLN = (row[i] - mean) / (variance + 1e-6).squareRoot() * Double(w.scalars[i]) + Double(b.scalars[i])
                let wantRMS = row[i] / (meanSquare + 1e-6).squareRoot() * Double(w.scalars[i])
                #expect(abs(Double(ln.scalars[r * dim + i]) - wantLN) < 1e-5)
                #expect(abs(Double(rms.scalars[r * dim + i]) - wantRMS) < 1e-5)
            }
        }
    }

    @Test func conv3dMatchesDirectSum() {
        let ctx = ComputeContext(threads: 2)
        let input = randomTensor([3, 4, 5, 6], seed: 21)
        let weight = randomTensor([5, 3, 2, 3, 3], seed: 22)
        let bias = randomTensor([5], seed: 23)
        let conv = Conv3d(weight: weight, bias: bias, stride: (1, 2, 1), padding: (1, 1, 1))
        let out = conv.apply(input, context: ctx)
        let o = conv.outputSize(frames: 4, height: 5, width: 6)
        #expect(out.shape == [5, o.t, o.h, o.w])
        for oc in 0..<5 { for t in 0..<o.t { for h in 0..<o.h { for w in 0..<o.w {
            var s = Double(bias.scalars[oc])
            for ic in 0..<3 { for kt in 0..<2 { for kh in 0..<3 { for kw in 0..<3 {
                let it = t - 1 + kt, ih = h * 2 - 1 + kh, iw = w - 1 + kw
                if it < 0 || it >= 4 || ih < 0 || ih >= 5 || iw < 0 || iw >= 6 { continue }
                s += Double(weight.scalars[(((oc * 3 + ic) * 2 + kt) * 3 + kh) * 3 + kw]) * Double(input.scalars[((ic * 4 + it) * 5 + ih) * 6 + iw])
            } } } }
            let got = out.scalars[((oc * o.t + t) * o.h + h) * o.w + w]
            #expect(abs(Double(got) - s) < 1e-4)
        } } } }
    }

    @Test func rotaryEmbeddingRotatesInterleavedPairs() {
        let rope = RotaryEmbedding3D(headDim: 12, frames: 2, height: 3, width: 2)
        // Split for head_dim 12: t = 4, h = 4, w = 4 → 2 pairs each. Token (f=1, h=2, w=1).
        let token = (1 * 3 + 2) * 2 + 1
        let angles: [Double] = [1, 1 / 100, 2, 2 / 100, 1, 1 / 100]
        for (j, angle) in angles.enumerated() {
            #expect(abs(Double(rope.cosines[token * 6 + j]) - Foundation.cos(angle)) < 1e-7)
            #expect(abs(Double(rope.sines[token * 6 + j]) - Foundation.sin(angle)) < 1e-7)
        }
    }

    @Test func gaussianNoiseIsDeterministicAndStandard() {
        let a = GaussianNoise(seed: 42).samples(100_001)
        let b = GaussianNoise(seed: 42).samples(100_001)
        let c = GaussianNoise(seed: 43).samples(100_001)
        #expect(a == b)
        #expect(a != c)
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        let variance = a.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(a.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
        #expect(a.allSatisfy { $0.isFinite })
    }
}
