import Foundation
import MoviolaTensor
import Synchronization

/// The timestep(s) one sample is denoised at.
public enum TransformerTimestep: Sendable, Equatable {
    /// One timestep for every token (Wan 2.1, and Wan 2.2 text-to-video).
    case uniform(Float)
    /// One timestep per patch token, in token order (Wan 2.2 `expand_timesteps`: a clean first
    /// frame at timestep 0 conditions image-to-video).
    case perToken([Float])
}

/// Wan's diffusion transformer (`WanTransformer3DModel`), computing exactly what diffusers
/// computes, in float32 on the CPU. It predicts the flow velocity for noisy latents.
public final class WanTransformer3DModel: Sendable {
    public let config: WanTransformerConfig
    let weights: WanTransformerWeights
    /// Activation buffers kept between forward passes of the same size (avoids re-faulting
    /// tens of megabytes per pass).
    private let scratchCache = Mutex<BlockScratch?>(nil)

    public init(config: WanTransformerConfig, weights: WanTransformerWeights) {
        self.config = config
        self.weights = weights
    }

    /// Loads `config.json` and the safetensors weights (any naming scheme) from a `transformer/` folder.
    public static func load(directory: String) throws -> WanTransformer3DModel {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let config = try JSONConfig.load(WanTransformerConfig.self, from: configPath)
        do { try config.validate() } catch let error as EngineError {
            throw EngineError("\(configPath): \(error.message)")
        }
        let store = try WeightStore(directory: directory)
        let weights = try WanTransformerWeights(config: config, store: store, configPath: configPath)
        return WanTransformer3DModel(config: config, weights: weights)
    }

    /// Velocity prediction for a batch.
    /// - Parameters:
    ///   - latents: `[B, in_channels, F, H, W]`
    ///   - timesteps: one entry per sample
    ///   - encoderHiddenStates: `[B, L, text_dim]`
    /// - Returns: `[B, out_channels, F, H, W]`
    public func callAsFunction(
        _ latents: Tensor, timesteps: [TransformerTimestep], encoderHiddenStates: Tensor, context: ComputeContext
    ) throws -> Tensor {
        guard latents.rank == 5 else { throw EngineError("transformer input must be [B, C, F, H, W], got \(latents.shape)") }
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == latents.shape[0] else {
            throw EngineError("text embeddings must be [B, L, \(config.textDim)] with B = \(latents.shape[0]), got \(encoderHiddenStates.shape)")
        }
        guard timesteps.count == latents.shape[0] else {
            throw EngineError("need one timestep per sample (\(latents.shape[0])), got \(timesteps.count)")
        }
        var outputs: [Tensor] = []
        for b in 0..<latents.shape[0] {
            outputs.append(try forward(latents.slice(b), timestep: timesteps[b], context: encoderHiddenStates.slice(b), compute: context))
        }
        return Tensor.stack(outputs)
    }

    /// Velocity prediction for one sample: latents `[C, F, H, W]`, text `[L, text_dim]`.
    public func forward(_ latents: Tensor, timestep: TransformerTimestep, context text: Tensor, compute: ComputeContext) throws -> Tensor {
        try forward(latents, timestep: timestep, text: prepareText(text, compute: compute), compute: compute)
    }

    /// Velocity prediction for one sample with text conditioning prepared by `prepareText`, which
    /// a denoising loop does once per prompt instead of once per step.
    public func forward(_ latents: Tensor, timestep: TransformerTimestep, text: PreparedText, compute: ComputeContext) throws -> Tensor {
        guard text.blockCount == config.numLayers, text.width == config.innerDim else {
            throw EngineError("prepared text does not belong to this transformer")
        }
        return try computeForward(latents, timestep: timestep, text: text, compute: compute)
    }

    /// Projects text embeddings `[L, text_dim]` through the text embedder and every block's
    /// cross-attention key/value projections (with the key norm). These do not depend on the
    /// latents or the timestep.
    public func prepareText(_ text: Tensor, compute: ComputeContext) throws -> PreparedText {
        guard text.rank == 2, text.shape[1] == config.textDim else {
            throw EngineError("text embeddings must be [L, \(config.textDim)], got \(text.shape)")
        }
        let states = weights.textLinear2(weights.textLinear1(text, context: compute).geluTanh(context: compute), context: compute)  // [L, D]
        let perBlock = weights.blocks.map { $0.crossAttentionKeysValues(states, eps: config.eps, compute: compute) }
        return PreparedText(tokens: text.shape[0], width: config.innerDim, keys: perBlock.map(\.keys), values: perBlock.map(\.values))
    }

    private func computeForward(_ latents: Tensor, timestep: TransformerTimestep, text: PreparedText, compute: ComputeContext) throws -> Tensor {
        let c = config
        let (pt, ph, pw) = (c.patchSize[0], c.patchSize[1], c.patchSize[2])
        guard latents.rank == 4, latents.shape[0] == c.inChannels else {
            throw EngineError("transformer expects \(c.inChannels) latent channels [C, F, H, W], got \(latents.shape)")
        }
        let (frames, height, width) = (latents.shape[1], latents.shape[2], latents.shape[3])
        guard frames % pt == 0, height % ph == 0, width % pw == 0, frames > 0, height > 0, width > 0 else {
            throw EngineError("latent size \(frames)×\(height)×\(width) is not a multiple of the patch size \(c.patchSize)")
        }
        let (gf, gh, gw) = (frames / pt, height / ph, width / pw)
        guard max(gf, gh, gw) <= c.ropeMaxSeqLen else {
            throw EngineError("latent grid \(gf)×\(gh)×\(gw) exceeds rope_max_seq_len \(c.ropeMaxSeqLen)")
        }
        let tokens = gf * gh * gw
        let dim = c.innerDim
        if case .perToken(let values) = timestep, values.count != tokens {
            throw EngineError("per-token timesteps need one value per patch token (\(tokens)), got \(values.count)")
        }

        // Patch embedding: tokens in (f, h, w) order, as flatten(2).transpose(1, 2).
        var hidden = weights.patchEmbedding.applyChannelsLast(latents, context: compute)

        // Time embedding, computed once per distinct timestep value.
        let (distinct, tokenGroup) = Self.distinctTimesteps(timestep, tokens: tokens)
        let sinusoids = Self.timestepSinusoids(distinct, dim: c.freqDim)
        let temb = weights.timeLinear2(weights.timeLinear1(sinusoids, context: compute).silu(context: compute), context: compute)
        let timeProjection = weights.timeProjection(temb.silu(context: compute), context: compute)  // [U, 6D]

        let rope = RotaryEmbedding3D(headDim: c.attentionHeadDim, frames: gf, height: gh, width: gw)
        var scratch = scratchCache.withLock { cached -> BlockScratch in
            let reusable = cached.flatMap { $0.fits(tokens: tokens, dim: dim, ffnDim: c.ffnDim) ? $0 : nil }
            cached = nil
            return reusable ?? BlockScratch(tokens: tokens, dim: dim, ffnDim: c.ffnDim)
        }
        defer { scratchCache.withLock { $0 = scratch } }
        for (index, block) in weights.blocks.enumerated() {
            let modulation = Self.modulation(table: block.scaleShiftTable, projection: timeProjection, chunks: 6, dim: dim,
                                             tokenGroup: tokenGroup, tokens: tokens)
            block.apply(to: &hidden, textKeys: text.keys[index], textValues: text.values[index], textTokens: text.tokens,
                        modulation: modulation, rope: rope, config: c, scratch: &scratch, compute: compute)
        }

        // Output: LayerNorm modulated by (table + temb), then projection to patch values.
        let outMod = Self.modulation(table: weights.outputScaleShiftTable, projection: temb, chunks: 2, dim: dim,
                                     tokenGroup: tokenGroup, tokens: tokens)
        hidden.scalars.withUnsafeMutableBufferPointer { h in
            outMod.withPointers { chunk, stride in
                Normalization.layerNorm(h.baseAddress!, rows: tokens, dim: dim, eps: c.eps, scale: chunk(1), shift: chunk(0),
                                        modulationRowStride: stride, into: h.baseAddress!, context: compute)
            }
        }
        let projected = weights.projOut(hidden, context: compute)  // [tokens, pt·ph·pw·outC]
        return Self.unpatchify(projected, channels: c.outChannels, grid: (gf, gh, gw), patch: (pt, ph, pw))
    }

    // MARK: - Pieces

    /// Distinct timestep values and, for per-token input, each token's index into them.
    static func distinctTimesteps(_ timestep: TransformerTimestep, tokens: Int) -> ([Float], [Int]?) {
        switch timestep {
        case .uniform(let t): return ([t], nil)
        case .perToken(let values):
            var distinct: [Float] = []
            var index: [UInt32: Int] = [:]
            var group = [Int](repeating: 0, count: tokens)
            for (i, v) in values.enumerated() {
                if let j = index[v.bitPattern] { group[i] = j } else {
                    index[v.bitPattern] = distinct.count
                    group[i] = distinct.count
                    distinct.append(v)
                }
            }
            return distinct.count == 1 ? (distinct, nil) : (distinct, group)
        }
    }

    /// diffusers `Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0)`, in float32 as PyTorch computes it.
    static func timestepSinusoids(_ timesteps: [Float], dim: Int) -> Tensor {
        let half = dim / 2
        let logPeriod = Float(-Foundation.log(10000.0))
        let frequencies = (0..<half).map { i in Foundation.exp(logPeriod * Float(i) / Float(half)) }
        var out = Tensor(zeros: [timesteps.count, dim])
        for (row, t) in timesteps.enumerated() {
            for i in 0..<half {
                let angle = t * frequencies[i]
                out.scalars[row * dim + i] = Foundation.cos(angle)
                out.scalars[row * dim + half + i] = Foundation.sin(angle)
            }
        }
        return out
    }

    /// `table + projection`, chunked: one row per distinct timestep, or expanded per token.
    static func modulation(table: Tensor, projection: Tensor, chunks: Int, dim: Int, tokenGroup: [Int]?, tokens: Int) -> Modulation {
        let distinct = projection.shape[0]
        // The projection has one vector per chunk, or one vector broadcast to every chunk.
        let width = projection.shape[1]
        precondition(width == chunks * dim || width == dim, "modulation projection \(projection.shape) for \(chunks)×\(dim)")
        var perValue = [Float](repeating: 0, count: distinct * chunks * dim)
        for u in 0..<distinct {
            for i in 0..<(chunks * dim) {
                perValue[u * chunks * dim + i] = table.scalars[i] + projection.scalars[u * width + (width == dim ? i % dim : i)]
            }
        }
        guard let tokenGroup else {
            return Modulation(values: perValue, chunks: chunks, dim: dim, rows: 1)
        }
        // Token-major layout: chunk k of token n at [(k·tokens + n)·dim].
        var expanded = [Float](repeating: 0, count: chunks * tokens * dim)
        for k in 0..<chunks {
            for n in 0..<tokens {
                let src = (tokenGroup[n] * chunks + k) * dim
                let dst = (k * tokens + n) * dim
                for i in 0..<dim { expanded[dst + i] = perValue[src + i] }
            }
        }
        return Modulation(values: expanded, chunks: chunks, dim: dim, rows: tokens)
    }

    /// `[tokens, pt·ph·pw·C]` with features ordered (pt, ph, pw, C) → `[C, F, H, W]`.
    static func unpatchify(_ x: Tensor, channels: Int, grid: (Int, Int, Int), patch: (Int, Int, Int)) -> Tensor {
        let (gf, gh, gw) = grid
        let (pt, ph, pw) = patch
        let (frames, height, width) = (gf * pt, gh * ph, gw * pw)
        var out = Tensor(zeros: [channels, frames, height, width])
        let features = pt * ph * pw * channels
        x.scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                for f in 0..<gf { for h in 0..<gh { for w in 0..<gw {
                    let token = (f * gh + h) * gw + w
                    for a in 0..<pt { for b in 0..<ph { for d in 0..<pw {
                        let base = token * features + ((a * ph + b) * pw + d) * channels
                        for ch in 0..<channels {
                            dst[((ch * frames + f * pt + a) * height + h * ph + b) * width + w * pw + d] = src[base + ch]
                        }
                    } } }
                } } }
            }
        }
        return out
    }
}

/// Shift/scale/gate vectors for adaLN: `chunks` vectors of `dim`, either shared by every token
/// (`rows == 1`) or one per token.
struct Modulation {
    let values: [Float]
    let chunks: Int
    let dim: Int
    let rows: Int

    /// Calls `body` with a pointer to each chunk and the per-row stride (0 when shared by all rows).
    func withPointers<R>(_ body: (_ chunk: (Int) -> UnsafePointer<Float>, _ rowStride: Int) -> R) -> R {
        values.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            return body({ k in base + k * rows * dim }, rows == 1 ? 0 : dim)
        }
    }
}

/// Text conditioning projected for every block's cross-attention (see `prepareText`).
public struct PreparedText: Sendable {
    public let tokens: Int
    let width: Int
    let keys: [[Float]]
    let values: [[Float]]
    var blockCount: Int { keys.count }
}
