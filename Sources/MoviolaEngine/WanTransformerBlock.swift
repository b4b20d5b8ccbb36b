import MoviolaTensor

/// Projections and query/key norms of one `WanAttention`.
struct WanAttentionWeights: Sendable {
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    let normQ: Tensor, normK: Tensor
}

/// Reusable buffers for one forward pass, sized for its token counts.
struct BlockScratch {
    var normed: [Float], query: [Float], key: [Float], value: [Float], attended: [Float], projected: [Float]
    var ffnHidden: [Float]
    let shape: [Int]

    func fits(tokens: Int, dim: Int, ffnDim: Int) -> Bool { shape == [tokens, dim, ffnDim] }

    init(tokens: Int, dim: Int, ffnDim: Int) {
        shape = [tokens, dim, ffnDim]
        let n = tokens * dim
        normed = [Float](repeating: 0, count: n)
        query = normed; key = normed; value = normed; attended = normed; projected = normed
        ffnHidden = [Float](repeating: 0, count: tokens * ffnDim)
    }
}

/// One `WanTransformerBlock`: modulated self-attention with 3-D RoPE, cross-attention to the
/// text, and a modulated GELU-tanh feed-forward network.
struct WanTransformerBlock: Sendable {
    let selfAttention: WanAttentionWeights
    let crossAttention: WanAttentionWeights
    let crossNormWeight: Tensor?
    let crossNormBias: Tensor?
    let ffnIn: Linear
    let ffnOut: Linear
    /// `[6·D]`: shift, scale, gate for attention, then for the feed-forward network.
    let scaleShiftTable: Tensor

    /// Cross-attention keys (normalised) and values for projected text states `[L, D]`.
    func crossAttentionKeysValues(_ text: Tensor, eps: Float, compute: ComputeContext) -> (keys: [Float], values: [Float]) {
        let rows = text.shape[0], dim = text.shape[1]
        var keys = crossAttention.toK(text, context: compute).scalars
        let values = crossAttention.toV(text, context: compute).scalars
        if rows > 0 {
            keys.withUnsafeMutableBufferPointer { k in
                crossAttention.normK.scalars.withUnsafeBufferPointer { w in
                    Normalization.rmsNorm(k.baseAddress!, rows: rows, dim: dim, eps: eps, weight: w.baseAddress!, into: k.baseAddress!, context: compute)
                }
            }
        }
        return (keys, values)
    }

    func apply(
        to hidden: inout Tensor, textKeys: [Float], textValues: [Float], textTokens: Int, modulation: Modulation,
        rope: RotaryEmbedding3D, config: WanTransformerConfig, scratch s: inout BlockScratch, compute: ComputeContext
    ) {
        let tokens = hidden.shape[0]
        let dim = config.innerDim
        let heads = config.numAttentionHeads
        let headDim = config.attentionHeadDim
        let eps = config.eps
        let scale = Float(1 / Double(headDim).squareRoot())

        hidden.scalars.withUnsafeMutableBufferPointer { hBuffer in
            let h = hBuffer.baseAddress!
            modulation.withPointers { chunk, stride in
                s.normed.withUnsafeMutableBufferPointer { nb in
                s.query.withUnsafeMutableBufferPointer { qb in
                s.key.withUnsafeMutableBufferPointer { kb in
                s.value.withUnsafeMutableBufferPointer { vb in
                s.attended.withUnsafeMutableBufferPointer { ab in
                s.projected.withUnsafeMutableBufferPointer { pb in
                    let (n, q, k, v, a, p) = (nb.baseAddress!, qb.baseAddress!, kb.baseAddress!, vb.baseAddress!, ab.baseAddress!, pb.baseAddress!)

                    // 1. Self-attention.
                    Normalization.layerNorm(h, rows: tokens, dim: dim, eps: eps, scale: chunk(1), shift: chunk(0),
                                            modulationRowStride: stride, into: n, context: compute)
                    selfAttention.toQ.apply(n, rows: tokens, into: q, context: compute)
                    selfAttention.toK.apply(n, rows: tokens, into: k, context: compute)
                    selfAttention.toV.apply(n, rows: tokens, into: v, context: compute)
                    selfAttention.normQ.scalars.withUnsafeBufferPointer { w in
                        Normalization.rmsNorm(q, rows: tokens, dim: dim, eps: eps, weight: w.baseAddress!, into: q, context: compute)
                    }
                    selfAttention.normK.scalars.withUnsafeBufferPointer { w in
                        Normalization.rmsNorm(k, rows: tokens, dim: dim, eps: eps, weight: w.baseAddress!, into: k, context: compute)
                    }
                    rope.apply(to: q, heads: heads, context: compute)
                    rope.apply(to: k, heads: heads, context: compute)
                    Attention.multiHead(queries: q, queryCount: tokens, keys: k, values: v, keyCount: tokens,
                                        heads: heads, headDim: headDim, scale: scale, into: a, context: compute)
                    selfAttention.toOut.apply(a, rows: tokens, into: p, context: compute)
                    Self.addGated(p, gate: chunk(2), gateStride: stride, into: h, rows: tokens, dim: dim, compute: compute)

                    // 2. Cross-attention to the text (no modulation, no gate).
                    if let w = crossNormWeight, let b = crossNormBias {
                        w.scalars.withUnsafeBufferPointer { wp in
                            b.scalars.withUnsafeBufferPointer { bp in
                                Normalization.layerNorm(h, rows: tokens, dim: dim, eps: eps, weight: wp.baseAddress!, bias: bp.baseAddress!,
                                                        into: n, context: compute)
                            }
                        }
                    } else {
                        n.update(from: h, count: tokens * dim)
                    }
                    crossAttention.toQ.apply(n, rows: tokens, into: q, context: compute)
                    crossAttention.normQ.scalars.withUnsafeBufferPointer { w in
                        Normalization.rmsNorm(q, rows: tokens, dim: dim, eps: eps, weight: w.baseAddress!, into: q, context: compute)
                    }
                    if textTokens > 0 {
                        textKeys.withUnsafeBufferPointer { tk in
                            textValues.withUnsafeBufferPointer { tv in
                                Attention.multiHead(queries: q, queryCount: tokens, keys: tk.baseAddress!, values: tv.baseAddress!,
                                                    keyCount: textTokens, heads: heads, headDim: headDim, scale: scale, into: a, context: compute)
                            }
                        }
                        crossAttention.toOut.apply(a, rows: tokens, into: p, context: compute)
                        for i in 0..<(tokens * dim) { h[i] += p[i] }
                    }

                    // 3. Feed-forward network.
                    Normalization.layerNorm(h, rows: tokens, dim: dim, eps: eps, scale: chunk(4), shift: chunk(3),
                                            modulationRowStride: stride, into: n, context: compute)
                    s.ffnHidden.withUnsafeMutableBufferPointer { fb in
                        let f = fb.baseAddress!
                        ffnIn.apply(n, rows: tokens, into: f, context: compute)
                        Activations.geluTanh(f, count: tokens * config.ffnDim, context: compute)
                        ffnOut.apply(f, rows: tokens, into: p, context: compute)
                    }
                    Self.addGated(p, gate: chunk(5), gateStride: stride, into: h, rows: tokens, dim: dim, compute: compute)
                } } } } } }
            }
        }
    }

    /// `h += x · gate`, with the gate shared by all rows (stride 0) or one row per token.
    static func addGated(_ x: UnsafePointer<Float>, gate: UnsafePointer<Float>, gateStride: Int, into h: UnsafeMutablePointer<Float>,
                         rows: Int, dim: Int, compute: ComputeContext) {
        let src = SharedInput(x), g = SharedInput(gate), dst = SharedOutput(h)
        compute.parallelFor(rows, minimumPerWorker: 32) { range in
            for r in range {
                let xr = src.pointer + r * dim, gr = g.pointer + r * gateStride, hr = dst.pointer + r * dim
                for i in 0..<dim { hr[i] += xr[i] * gr[i] }
            }
        }
    }
}

/// A read-only pointer handed to parallel workers.
struct SharedInput: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

/// A pointer to which parallel workers write disjoint parts.
struct SharedOutput: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
