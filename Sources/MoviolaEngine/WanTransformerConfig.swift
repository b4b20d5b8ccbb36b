/// `transformer/config.json` of a `WanTransformer3DModel`, with diffusers' defaults for absent keys.
public struct WanTransformerConfig: Decodable, Sendable, Equatable {
    public var patchSize: [Int]
    public var numAttentionHeads: Int
    public var attentionHeadDim: Int
    public var inChannels: Int
    public var outChannels: Int
    public var textDim: Int
    public var freqDim: Int
    public var ffnDim: Int
    public var numLayers: Int
    public var crossAttnNorm: Bool
    public var qkNorm: String?
    public var eps: Float
    public var imageDim: Int?
    public var addedKVProjDim: Int?
    public var ropeMaxSeqLen: Int
    public var posEmbedSeqLen: Int?

    /// Width of the hidden states: heads × head dimension.
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", numAttentionHeads = "num_attention_heads", attentionHeadDim = "attention_head_dim"
        case inChannels = "in_channels", outChannels = "out_channels", textDim = "text_dim", freqDim = "freq_dim"
        case ffnDim = "ffn_dim", numLayers = "num_layers", crossAttnNorm = "cross_attn_norm", qkNorm = "qk_norm"
        case eps, imageDim = "image_dim", addedKVProjDim = "added_kv_proj_dim", ropeMaxSeqLen = "rope_max_seq_len"
        case posEmbedSeqLen = "pos_embed_seq_len"
    }

    public init(
        patchSize: [Int] = [1, 2, 2], numAttentionHeads: Int = 40, attentionHeadDim: Int = 128, inChannels: Int = 16,
        outChannels: Int = 16, textDim: Int = 4096, freqDim: Int = 256, ffnDim: Int = 13824, numLayers: Int = 40,
        crossAttnNorm: Bool = true, qkNorm: String? = "rms_norm_across_heads", eps: Float = 1e-6,
        imageDim: Int? = nil, addedKVProjDim: Int? = nil, ropeMaxSeqLen: Int = 1024, posEmbedSeqLen: Int? = nil
    ) {
        self.patchSize = patchSize
        self.numAttentionHeads = numAttentionHeads
        self.attentionHeadDim = attentionHeadDim
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.textDim = textDim
        self.freqDim = freqDim
        self.ffnDim = ffnDim
        self.numLayers = numLayers
        self.crossAttnNorm = crossAttnNorm
        self.qkNorm = qkNorm
        self.eps = eps
        self.imageDim = imageDim
        self.addedKVProjDim = addedKVProjDim
        self.ropeMaxSeqLen = ropeMaxSeqLen
        self.posEmbedSeqLen = posEmbedSeqLen
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WanTransformerConfig()
        patchSize = try c.value(.patchSize, default: d.patchSize)
        numAttentionHeads = try c.value(.numAttentionHeads, default: d.numAttentionHeads)
        attentionHeadDim = try c.value(.attentionHeadDim, default: d.attentionHeadDim)
        inChannels = try c.value(.inChannels, default: d.inChannels)
        let out = try c.decodeIfPresent(Int.self, forKey: .outChannels)
        outChannels = (out ?? 0) == 0 ? inChannels : out!
        textDim = try c.value(.textDim, default: d.textDim)
        freqDim = try c.value(.freqDim, default: d.freqDim)
        ffnDim = try c.value(.ffnDim, default: d.ffnDim)
        numLayers = try c.value(.numLayers, default: d.numLayers)
        crossAttnNorm = try c.value(.crossAttnNorm, default: d.crossAttnNorm)
        qkNorm = try c.decodeIfPresent(String.self, forKey: .qkNorm) ?? (c.contains(.qkNorm) ? nil : d.qkNorm)
        eps = try c.value(.eps, default: d.eps)
        imageDim = try c.decodeIfPresent(Int.self, forKey: .imageDim)
        addedKVProjDim = try c.decodeIfPresent(Int.self, forKey: .addedKVProjDim)
        ropeMaxSeqLen = try c.value(.ropeMaxSeqLen, default: d.ropeMaxSeqLen)
        posEmbedSeqLen = try c.decodeIfPresent(Int.self, forKey: .posEmbedSeqLen)
    }

    /// Checks the values are usable, naming the offending key.
    public func validate() throws {
        guard patchSize.count == 3, patchSize.allSatisfy({ $0 >= 1 }) else {
            throw EngineError("patch_size must be three positive integers, got \(patchSize)")
        }
        for (name, value) in [("num_attention_heads", numAttentionHeads), ("attention_head_dim", attentionHeadDim),
                              ("in_channels", inChannels), ("out_channels", outChannels), ("text_dim", textDim),
                              ("freq_dim", freqDim), ("ffn_dim", ffnDim), ("num_layers", numLayers)] where value < 1 {
            throw EngineError("\(name) must be positive, got \(value)")
        }
        guard attentionHeadDim % 2 == 0, attentionHeadDim >= 6 else {
            throw EngineError("attention_head_dim must be even and at least 6 for the 3-D rotary embedding, got \(attentionHeadDim)")
        }
        guard freqDim % 2 == 0 else { throw EngineError("freq_dim must be even, got \(freqDim)") }
        if let qkNorm, qkNorm != "rms_norm_across_heads" {
            throw EngineError("qk_norm \"\(qkNorm)\" is not supported (only rms_norm_across_heads)")
        }
        if qkNorm == nil {
            throw EngineError("qk_norm null is not supported: Wan checkpoints normalise queries and keys (rms_norm_across_heads)")
        }
        if imageDim != nil || addedKVProjDim != nil {
            throw EngineError("image cross-attention (image_dim / added_kv_proj_dim, as in Wan2.1 I2V-14B) is not supported yet; use a text-to-video or TI2V checkpoint")
        }
    }
}
