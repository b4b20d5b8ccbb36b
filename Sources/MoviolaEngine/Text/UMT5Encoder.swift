import Foundation
import MoviolaTensor

/// `text_encoder/config.json` of a transformers `UMT5EncoderModel`.
public struct UMT5Config: Decodable, Sendable, Equatable {
    public var vocabSize: Int
    public var dModel: Int
    public var dKV: Int
    public var dFF: Int
    public var numLayers: Int
    public var numHeads: Int
    public var relativeAttentionNumBuckets: Int
    public var relativeAttentionMaxDistance: Int
    public var layerNormEpsilon: Float
    public var feedForwardProj: String

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", dKV = "d_kv", dFF = "d_ff", numLayers = "num_layers"
        case numHeads = "num_heads", relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance", layerNormEpsilon = "layer_norm_epsilon"
        case feedForwardProj = "feed_forward_proj"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.value(.vocabSize, default: 250112)
        dModel = try c.value(.dModel, default: 512)
        dKV = try c.value(.dKV, default: 64)
        dFF = try c.value(.dFF, default: 1024)
        numLayers = try c.value(.numLayers, default: 8)
        numHeads = try c.value(.numHeads, default: 6)
        relativeAttentionNumBuckets = try c.value(.relativeAttentionNumBuckets, default: 32)
        relativeAttentionMaxDistance = try c.value(.relativeAttentionMaxDistance, default: 128)
        layerNormEpsilon = try c.value(.layerNormEpsilon, default: 1e-6)
        feedForwardProj = try c.value(.feedForwardProj, default: "gated-gelu")
    }

    /// Whether the feed-forward network is gated, and its activation (transformers' naming).
    var feedForward: (gated: Bool, activation: String) {
        if feedForwardProj == "gated-gelu" { return (true, "gelu_new") }
        let parts = feedForwardProj.split(separator: "-").map(String.init)
        return (parts.count == 2 && parts[0] == "gated", parts.last ?? "relu")
    }

    public func validate() throws {
        for (name, value) in [("vocab_size", vocabSize), ("d_model", dModel), ("d_kv", dKV), ("d_ff", dFF),
                              ("num_layers", numLayers), ("num_heads", numHeads)] where value < 1 {
            throw EngineError("\(name) must be positive, got \(value)")
        }
        guard relativeAttentionNumBuckets >= 4, relativeAttentionMaxDistance > relativeAttentionNumBuckets / 4 else {
            throw EngineError("relative_attention_num_buckets / relative_attention_max_distance are not usable")
        }
        guard ["gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu"].contains(feedForward.activation) else {
            throw EngineError("feed_forward_proj \(feedForwardProj) is not supported (gated-gelu, relu, gated-silu, …)")
        }
    }
}

/// The UMT5 text encoder (`UMT5EncoderModel`): T5 pre-norm blocks with a relative position bias
/// in every layer, RMSNorm, no 1/√d attention scaling, and a gated-GELU feed-forward network.
public final class UMT5Encoder: Sendable {
    public let config: UMT5Config
    let embedding: Tensor
    let layers: [Layer]
    let finalNorm: [Float]

    struct Layer: Sendable {
        let attentionNorm: [Float]
        let q: Linear, k: Linear, v: Linear, o: Linear
        let relativeBias: Tensor  // [buckets, heads]
        let ffnNorm: [Float]
        let wi0: Linear, wi1: Linear?, wo: Linear
    }

    public static func load(directory: String) throws -> UMT5Encoder {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let config = try JSONConfig.load(UMT5Config.self, from: configPath)
        do { try config.validate() } catch let error as EngineError { throw EngineError("\(configPath): \(error.message)") }
        let store = try WeightStore(directory: directory, baseName: "model")
        return try UMT5Encoder(config: config, store: store, configPath: configPath)
    }

    init(config c: UMT5Config, store: WeightStore, configPath: String) throws {
        config = c
        func load(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard store.contains(name) else {
                throw EngineError("\(store.source): missing tensor \(name) (a \(c.numLayers)-layer UMT5EncoderModel per \(configPath))")
            }
            let actual = store.shape(of: name) ?? []
            guard actual == shape else {
                throw EngineError("\(store.path(of: name) ?? store.source): \(name) has shape \(actual), but \(configPath) implies \(shape)")
            }
            return try store.tensor(name)
        }
        func linear(_ name: String, out: Int, in inFeatures: Int) throws -> Linear {
            Linear(weight: try load(name, [out, inFeatures]), bias: nil)
        }
        let embeddingName = ["shared.weight", "encoder.embed_tokens.weight"].first(where: store.contains) ?? "shared.weight"
        embedding = try load(embeddingName, [c.vocabSize, c.dModel])
        let inner = c.numHeads * c.dKV
        let gated = c.feedForward.gated
        layers = try (0..<c.numLayers).map { i in
            let p = "encoder.block.\(i).layer."
            return Layer(
                attentionNorm: try load(p + "0.layer_norm.weight", [c.dModel]).scalars,
                q: try linear(p + "0.SelfAttention.q.weight", out: inner, in: c.dModel),
                k: try linear(p + "0.SelfAttention.k.weight", out: inner, in: c.dModel),
                v: try linear(p + "0.SelfAttention.v.weight", out: inner, in: c.dModel),
                o: try linear(p + "0.SelfAttention.o.weight", out: c.dModel, in: inner),
                relativeBias: try load(p + "0.SelfAttention.relative_attention_bias.weight", [c.relativeAttentionNumBuckets, c.numHeads]),
                ffnNorm: try load(p + "1.layer_norm.weight", [c.dModel]).scalars,
                wi0: try linear(p + (gated ? "1.DenseReluDense.wi_0.weight" : "1.DenseReluDense.wi.weight"), out: c.dFF, in: c.dModel),
                wi1: gated ? try linear(p + "1.DenseReluDense.wi_1.weight", out: c.dFF, in: c.dModel) : nil,
                wo: try linear(p + "1.DenseReluDense.wo.weight", out: c.dModel, in: c.dFF))
        }
        finalNorm = try load("encoder.final_layer_norm.weight", [c.dModel]).scalars
    }

    /// The bidirectional relative-position bucket of `relative = key − query` (T5's rule).
    static func bucket(_ relative: Int, buckets: Int, maxDistance: Int) -> Int {
        let half = buckets / 2
        var result = relative > 0 ? half : 0
        let distance = abs(relative)
        let maxExact = half / 2
        if distance < maxExact { return result + distance }
        // float32 arithmetic, truncated, as transformers computes it.
        let ratio = Foundation.log(Float(distance) / Float(maxExact)) / Float(Foundation.log(Double(maxDistance) / Double(maxExact)))
        let large = maxExact + Int(ratio * Float(half - maxExact))
        result += min(large, half - 1)
        return result
    }

    /// Hidden states `[L, d_model]` for token ids (every id is attended; pass only real tokens).
    public func encode(_ ids: [Int], context: ComputeContext) throws -> Tensor {
        let c = config
        let length = ids.count
        guard length > 0 else { return Tensor(zeros: [0, c.dModel]) }
        for id in ids where id < 0 || id >= c.vocabSize {
            throw EngineError("token id \(id) is outside the text encoder's vocabulary (\(c.vocabSize))")
        }
        let d = c.dModel, heads = c.numHeads, dk = c.dKV, inner = heads * dk
        var hidden = [Float](repeating: 0, count: length * d)
        for (row, id) in ids.enumerated() {
            for j in 0..<d { hidden[row * d + j] = embedding.scalars[id * d + j] }
        }
        var buckets = [Int](repeating: 0, count: length * length)
        for i in 0..<length {
            for j in 0..<length {
                buckets[i * length + j] = Self.bucket(j - i, buckets: c.relativeAttentionNumBuckets, maxDistance: c.relativeAttentionMaxDistance)
            }
        }
        var normed = [Float](repeating: 0, count: length * d)
        var q = [Float](repeating: 0, count: length * inner), k = q, v = q, attended = q
        var scores = [Float](repeating: 0, count: length * length)
        var projected = normed
        var gate = [Float](repeating: 0, count: length * c.dFF), up = gate
        for layer in layers {
            rmsNorm(hidden, into: &normed, weight: layer.attentionNorm, rows: length, dim: d, context: context)
            normed.withUnsafeBufferPointer { n in
                q.withUnsafeMutableBufferPointer { layer.q.apply(n.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
                k.withUnsafeMutableBufferPointer { layer.k.apply(n.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
                v.withUnsafeMutableBufferPointer { layer.v.apply(n.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
            }
            for h in 0..<heads {
                q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in scores.withUnsafeMutableBufferPointer { sp in
                    BLAS.gemm(m: length, n: length, k: dk, a: qp.baseAddress! + h * dk, lda: inner, b: kp.baseAddress! + h * dk, ldb: inner,
                              transposeB: true, c: sp.baseAddress!)
                } } }
                for i in 0..<length {
                    var maxScore = -Float.infinity
                    for j in 0..<length {
                        let s = scores[i * length + j] + layer.relativeBias.scalars[buckets[i * length + j] * heads + h]
                        scores[i * length + j] = s
                        maxScore = max(maxScore, s)
                    }
                    var total: Float = 0
                    for j in 0..<length {
                        let e = Foundation.exp(scores[i * length + j] - maxScore)
                        scores[i * length + j] = e
                        total += e
                    }
                    for j in 0..<length { scores[i * length + j] /= total }
                }
                scores.withUnsafeBufferPointer { sp in v.withUnsafeBufferPointer { vp in attended.withUnsafeMutableBufferPointer { ap in
                    BLAS.gemm(m: length, n: dk, k: length, a: sp.baseAddress!, b: vp.baseAddress! + h * dk, ldb: inner, transposeB: false,
                              c: ap.baseAddress! + h * dk, ldc: inner)
                } } }
            }
            attended.withUnsafeBufferPointer { a in
                projected.withUnsafeMutableBufferPointer { layer.o.apply(a.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
            }
            for i in 0..<(length * d) { hidden[i] += projected[i] }

            rmsNorm(hidden, into: &normed, weight: layer.ffnNorm, rows: length, dim: d, context: context)
            normed.withUnsafeBufferPointer { n in
                gate.withUnsafeMutableBufferPointer { layer.wi0.apply(n.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
                if let wi1 = layer.wi1 {
                    up.withUnsafeMutableBufferPointer { wi1.apply(n.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
                }
            }
            activate(&gate, context: context)
            if layer.wi1 != nil { for i in 0..<gate.count { gate[i] *= up[i] } }
            gate.withUnsafeBufferPointer { g in
                projected.withUnsafeMutableBufferPointer { layer.wo.apply(g.baseAddress!, rows: length, into: $0.baseAddress!, context: context) }
            }
            for i in 0..<(length * d) { hidden[i] += projected[i] }
        }
        var out = [Float](repeating: 0, count: length * d)
        rmsNorm(hidden, into: &out, weight: finalNorm, rows: length, dim: d, context: context)
        return Tensor(shape: [length, d], scalars: out)
    }

    private func rmsNorm(_ x: [Float], into y: inout [Float], weight: [Float], rows: Int, dim: Int, context: ComputeContext) {
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    Normalization.rmsNorm(xp.baseAddress!, rows: rows, dim: dim, eps: config.layerNormEpsilon, weight: wp.baseAddress!,
                                          into: yp.baseAddress!, context: context)
                }
            }
        }
    }

    private func activate(_ x: inout [Float], context: ComputeContext) {
        let n = x.count
        switch config.feedForward.activation {
        case "gelu_new", "gelu_pytorch_tanh":
            x.withUnsafeMutableBufferPointer { Activations.geluTanh($0.baseAddress!, count: n, context: context) }
        case "gelu":
            for i in 0..<n { x[i] = 0.5 * x[i] * (1 + Foundation.erf(x[i] / Float(2).squareRoot())) }
        case "silu":
            x.withUnsafeMutableBufferPointer { Activations.silu($0.baseAddress!, count: n, context: context) }
        default:
            for i in 0..<n { x[i] = max(0, x[i]) }
        }
    }
}
