import MoviolaTensor

/// All parameters of a `WanTransformer3DModel`, float32, shape-checked against the config.
public struct WanTransformerWeights: Sendable {
    let patchEmbedding: Conv3d
    let timeLinear1: Linear, timeLinear2: Linear, timeProjection: Linear
    let textLinear1: Linear, textLinear2: Linear
    let blocks: [WanTransformerBlock]
    /// `[2·D]`: shift then scale for the output norm.
    let outputScaleShiftTable: Tensor
    let projOut: Linear

    /// Expected diffusers names and shapes for a config.
    static func expectedShapes(_ c: WanTransformerConfig) -> [String: [Int]] {
        let d = c.innerDim
        var shapes: [String: [Int]] = [
            "patch_embedding.weight": [d, c.inChannels] + c.patchSize,
            "patch_embedding.bias": [d],
            "condition_embedder.time_embedder.linear_1.weight": [d, c.freqDim],
            "condition_embedder.time_embedder.linear_1.bias": [d],
            "condition_embedder.time_embedder.linear_2.weight": [d, d],
            "condition_embedder.time_embedder.linear_2.bias": [d],
            "condition_embedder.time_proj.weight": [6 * d, d],
            "condition_embedder.time_proj.bias": [6 * d],
            "condition_embedder.text_embedder.linear_1.weight": [d, c.textDim],
            "condition_embedder.text_embedder.linear_1.bias": [d],
            "condition_embedder.text_embedder.linear_2.weight": [d, d],
            "condition_embedder.text_embedder.linear_2.bias": [d],
            "scale_shift_table": [1, 2, d],
            "proj_out.weight": [c.outChannels * c.patchSize.reduce(1, *), d],
            "proj_out.bias": [c.outChannels * c.patchSize.reduce(1, *)],
        ]
        for i in 0..<c.numLayers {
            let p = "blocks.\(i)."
            for attn in ["attn1", "attn2"] {
                for proj in ["to_q", "to_k", "to_v", "to_out.0"] {
                    shapes["\(p)\(attn).\(proj).weight"] = [d, d]
                    shapes["\(p)\(attn).\(proj).bias"] = [d]
                }
                shapes["\(p)\(attn).norm_q.weight"] = [d]
                shapes["\(p)\(attn).norm_k.weight"] = [d]
            }
            if c.crossAttnNorm {
                shapes["\(p)norm2.weight"] = [d]
                shapes["\(p)norm2.bias"] = [d]
            }
            shapes["\(p)ffn.net.0.proj.weight"] = [c.ffnDim, d]
            shapes["\(p)ffn.net.0.proj.bias"] = [c.ffnDim]
            shapes["\(p)ffn.net.2.weight"] = [d, c.ffnDim]
            shapes["\(p)ffn.net.2.bias"] = [d]
            shapes["\(p)scale_shift_table"] = [1, 6, d]
        }
        return shapes
    }

    /// Reads and checks every tensor from `store`, accepting diffusers or original Wan names.
    init(config: WanTransformerConfig, store: WeightStore, configPath: String) throws {
        let scheme = WanWeightNames.scheme(of: store.names)
        var byDiffusersName: [String: String] = [:]
        for name in store.names {
            byDiffusersName[WanWeightNames.diffusersName(for: name, scheme: scheme)] = name
        }
        if byDiffusersName.keys.contains(where: { $0.contains(".add_k_proj.") || $0.hasPrefix("condition_embedder.image_embedder.") }) {
            throw EngineError("\(store.source): checkpoint has image cross-attention weights (Wan2.1 I2V-14B style add_k_proj / image_embedder), which are not supported yet")
        }
        let expected = Self.expectedShapes(config)
        let missing = expected.keys.filter { byDiffusersName[$0] == nil }.sorted()
        if !missing.isEmpty {
            let more = missing.count > 1 ? " and \(missing.count - 1) more" : ""
            throw EngineError("\(store.source): missing tensor \(missing[0])\(more) (a \(config.numLayers)-layer WanTransformer3DModel per \(configPath); checkpoint has \(store.names.count) tensors, \(scheme.rawValue) naming)")
        }
        func load(_ name: String) throws -> Tensor {
            let stored = byDiffusersName[name]!
            let shape = store.shape(of: stored) ?? []
            let want = expected[name]!
            guard shape == want else {
                throw EngineError("\(store.path(of: stored) ?? store.source): \(stored) has shape \(shape), but \(configPath) implies \(want)")
            }
            return try store.tensor(stored)
        }
        func linear(_ prefix: String) throws -> Linear {
            Linear(weight: try load(prefix + ".weight"), bias: try load(prefix + ".bias"))
        }
        func flat(_ name: String) throws -> Tensor {
            let t = try load(name)
            return t.reshaped([t.count])
        }
        let p = config.patchSize
        patchEmbedding = Conv3d(weight: try load("patch_embedding.weight"), bias: try load("patch_embedding.bias"),
                                stride: (p[0], p[1], p[2]))
        timeLinear1 = try linear("condition_embedder.time_embedder.linear_1")
        timeLinear2 = try linear("condition_embedder.time_embedder.linear_2")
        timeProjection = try linear("condition_embedder.time_proj")
        textLinear1 = try linear("condition_embedder.text_embedder.linear_1")
        textLinear2 = try linear("condition_embedder.text_embedder.linear_2")
        outputScaleShiftTable = try flat("scale_shift_table")
        projOut = try linear("proj_out")
        var blocks: [WanTransformerBlock] = []
        for i in 0..<config.numLayers {
            let b = "blocks.\(i)."
            func attention(_ a: String) throws -> WanAttentionWeights {
                WanAttentionWeights(
                    toQ: try linear(b + a + ".to_q"), toK: try linear(b + a + ".to_k"), toV: try linear(b + a + ".to_v"),
                    toOut: try linear(b + a + ".to_out.0"),
                    normQ: try load(b + a + ".norm_q.weight"), normK: try load(b + a + ".norm_k.weight"))
            }
            blocks.append(WanTransformerBlock(
                selfAttention: try attention("attn1"), crossAttention: try attention("attn2"),
                crossNormWeight: config.crossAttnNorm ? try load(b + "norm2.weight") : nil,
                crossNormBias: config.crossAttnNorm ? try load(b + "norm2.bias") : nil,
                ffnIn: try linear(b + "ffn.net.0.proj"), ffnOut: try linear(b + "ffn.net.2"),
                scaleShiftTable: try flat(b + "scale_shift_table")))
        }
        self.blocks = blocks
    }

    /// Random weights of the right shapes (uniform, PyTorch-like fan-in scaling), for benchmarks.
    public static func random(config: WanTransformerConfig, seed: UInt64) -> WanTransformerWeights {
        WanTransformerWeights(random: config, seed: seed)
    }

    private init(random config: WanTransformerConfig, seed: UInt64) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func tensor(_ shape: [Int], bound: Float) -> Tensor {
            let count = shape.reduce(1, *)
            var scalars = [Float](repeating: 0, count: count)
            for i in 0..<count {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
                scalars[i] = (Float(bits) / Float(1 << 24) * 2 - 1) * bound
            }
            return Tensor(shape: shape, scalars: scalars)
        }
        func linear(_ out: Int, _ inFeatures: Int) -> Linear {
            let bound = 1 / Float(inFeatures).squareRoot()
            return Linear(weight: tensor([out, inFeatures], bound: bound), bias: tensor([out], bound: bound))
        }
        let d = config.innerDim
        let p = config.patchSize
        patchEmbedding = Conv3d(weight: tensor([d, config.inChannels] + p, bound: 1 / Float(config.inChannels * p.reduce(1, *)).squareRoot()),
                                bias: tensor([d], bound: 0.1), stride: (p[0], p[1], p[2]))
        timeLinear1 = linear(d, config.freqDim)
        timeLinear2 = linear(d, d)
        timeProjection = linear(6 * d, d)
        textLinear1 = linear(d, config.textDim)
        textLinear2 = linear(d, d)
        outputScaleShiftTable = tensor([2 * d], bound: 1 / Float(d).squareRoot())
        projOut = linear(config.outChannels * p.reduce(1, *), d)
        blocks = (0..<config.numLayers).map { _ in
            func attention() -> WanAttentionWeights {
                WanAttentionWeights(toQ: linear(d, d), toK: linear(d, d), toV: linear(d, d), toOut: linear(d, d),
                                    normQ: Tensor(repeating: 1, shape: [d]), normK: Tensor(repeating: 1, shape: [d]))
            }
            return WanTransformerBlock(
                selfAttention: attention(), crossAttention: attention(),
                crossNormWeight: config.crossAttnNorm ? Tensor(repeating: 1, shape: [d]) : nil,
                crossNormBias: config.crossAttnNorm ? Tensor(zeros: [d]) : nil,
                ffnIn: linear(config.ffnDim, d), ffnOut: linear(d, config.ffnDim),
                scaleShiftTable: tensor([6 * d], bound: 1 / Float(d).squareRoot()))
        }
    }
}
