import Foundation
import MoviolaTensor

/// `WanResample` in the decoder: optional causal temporal ×2 (skipped for the first chunk, as in
/// Wan), then nearest ×2 and a 3×3 convolution halving the channels.
struct VAEUpsample: Sendable {
    let temporal: CausalConvolution?
    let spatial: FrameConvolution

    init(_ r: VAEWeightReader, _ prefix: String, dim: Int, temporal isTemporal: Bool) throws {
        spatial = try r.convolution(prefix + ".resample.1", out: dim / 2, in: dim, kernel: [3, 3])
        temporal = isTemporal ? CausalConvolution(convolution: try r.convolution(prefix + ".time_conv", out: 2 * dim, in: dim, kernel: [3, 1, 1])) : nil
    }

    func apply(_ input: Frames, states: inout ConvolutionStates, context: ComputeContext) -> Frames {
        var x = input
        if let temporal {
            let index = states.next()
            if states.started[index] {
                let doubled = temporal.apply(x, history: &states.histories[index], context: context)
                // Output channels [0, C) are frame 2t, [C, 2C) frame 2t+1.
                let c = x.channels, plane = x.height * x.width
                var interleaved = Frames(zeros: 2 * x.count, height: x.height, width: x.width, channels: c)
                for t in 0..<x.count {
                    for p in 0..<plane {
                        for half in 0..<2 {
                            let src = (t * plane + p) * 2 * c + half * c
                            let dst = ((2 * t + half) * plane + p) * c
                            for i in 0..<c { interleaved.data[dst + i] = doubled.data[src + i] }
                        }
                    }
                }
                x = interleaved
            } else {
                states.started[index] = true
            }
        }
        return spatial.apply(upsampleNearest2x(x), context: context)
    }
}

/// `WanResample` in the encoder: 3×3 stride-2 convolution, then for 3-D a causal stride-2
/// temporal convolution (the first chunk passes through and seeds the history).
struct VAEDownsample: Sendable {
    let spatial: StridedDownsample
    let temporal: FrameConvolution?

    init(_ r: VAEWeightReader, _ prefix: String, dim: Int, temporal isTemporal: Bool) throws {
        spatial = StridedDownsample(weight: try r.tensor(prefix + ".resample.1.weight", [dim, dim, 3, 3]),
                                    bias: try r.tensor(prefix + ".resample.1.bias", [dim]))
        temporal = isTemporal ? try r.convolution(prefix + ".time_conv", out: dim, in: dim, kernel: [3, 1, 1]) : nil
    }

    func apply(_ input: Frames, states: inout ConvolutionStates, context: ComputeContext) -> Frames {
        let x = spatial.apply(input, context: context)
        guard let temporal else { return x }
        let index = states.next()
        guard states.started[index], let history = states.histories[index] else {
            states.started[index] = true
            states.histories[index] = x
            return x
        }
        let stream = history.frames((history.count - 1)..<history.count).appending(x)
        states.histories[index] = x.frames((x.count - 1)..<x.count)
        let dense = temporal.apply(stream, context: context)
        var picked = Frames(zeros: (dense.count + 1) / 2, height: x.height, width: x.width, channels: x.channels)
        for (i, t) in stride(from: 0, to: dense.count, by: 2).enumerated() {
            let size = dense.frameSize
            for j in 0..<size { picked.data[i * size + j] = dense.data[t * size + j] }
        }
        return picked
    }
}

/// One layer of the encoder's flat `down_blocks` list.
enum VAEDownLayer: Sendable {
    case residual(VAEResidualBlock)
    case downsample(VAEDownsample)
}

/// `WanMidBlock`: residual, attention, residual.
struct VAEMidBlock: Sendable {
    let first: VAEResidualBlock, attention: VAEAttentionBlock, second: VAEResidualBlock

    init(_ r: VAEWeightReader, _ prefix: String, dim: Int) throws {
        first = try VAEResidualBlock(r, prefix + ".resnets.0", in: dim, out: dim)
        attention = try VAEAttentionBlock(r, prefix + ".attentions.0", dim: dim)
        second = try VAEResidualBlock(r, prefix + ".resnets.1", in: dim, out: dim)
    }

    func apply(_ x: Frames, states: inout ConvolutionStates, context: ComputeContext) -> Frames {
        var y = first.apply(x, states: &states, context: context)
        y = attention.apply(y, context: context)
        return second.apply(y, states: &states, context: context)
    }
}

/// Wan 2.1's causal video VAE (`AutoencoderKLWan`): 4× temporal and 8× spatial compression,
/// decoded one latent frame at a time and encoded in chunks of 1 + 4k frames, so memory is
/// bounded by one chunk, not the clip.
public final class WanVAE: Sendable {
    public let config: WanVAEConfig
    let encoderIn: CausalConvolution
    let encoderLayers: [VAEDownLayer]
    let encoderMid: VAEMidBlock
    let encoderNorm: [Float]
    let encoderOut: CausalConvolution
    let quantConv: FrameConvolution
    let postQuantConv: FrameConvolution
    let decoderIn: CausalConvolution
    let decoderMid: VAEMidBlock
    let decoderBlocks: [(resnets: [VAEResidualBlock], upsample: VAEUpsample?)]
    let decoderNorm: [Float]
    let decoderOut: CausalConvolution
    let encoderConvolutions: Int
    let decoderConvolutions: Int

    /// Loads `config.json` and weights from a `vae/` folder.
    public static func load(directory: String) throws -> WanVAE {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let config = try JSONConfig.load(WanVAEConfig.self, from: configPath)
        do { try config.validate() } catch let error as EngineError { throw EngineError("\(configPath): \(error.message)") }
        let store = try WeightStore(directory: directory)
        return try WanVAE(config: config, reader: VAEWeightReader(store: store, configPath: configPath))
    }

    init(config c: WanVAEConfig, reader r: VAEWeightReader) throws {
        self.config = c
        let z = c.zDim
        // Encoder.
        let encDims = ([1] + c.dimMult).map { c.baseDim * $0 }
        encoderIn = CausalConvolution(convolution: try r.convolution("encoder.conv_in", out: encDims[0], in: 3, kernel: [3, 3, 3]))
        var layers: [VAEDownLayer] = []
        var encConvs = 1
        for i in 0..<c.dimMult.count {
            var inDim = encDims[i]
            let outDim = encDims[i + 1]
            for _ in 0..<c.numResBlocks {
                layers.append(.residual(try VAEResidualBlock(r, "encoder.down_blocks.\(layers.count)", in: inDim, out: outDim)))
                encConvs += VAEResidualBlock.convolutionCount
                inDim = outDim
            }
            if i != c.dimMult.count - 1 {
                let temporal = c.temperalDownsample[i]
                layers.append(.downsample(try VAEDownsample(r, "encoder.down_blocks.\(layers.count)", dim: outDim, temporal: temporal)))
                if temporal { encConvs += 1 }
            }
        }
        encoderLayers = layers
        let top = encDims.last!
        encoderMid = try VAEMidBlock(r, "encoder.mid_block", dim: top)
        encoderNorm = try r.gamma("encoder.norm_out", top)
        encoderOut = CausalConvolution(convolution: try r.convolution("encoder.conv_out", out: 2 * z, in: top, kernel: [3, 3, 3]))
        encoderConvolutions = encConvs + 2 * VAEResidualBlock.convolutionCount + 1
        quantConv = try r.convolution("quant_conv", out: 2 * z, in: 2 * z, kernel: [1, 1, 1])
        postQuantConv = try r.convolution("post_quant_conv", out: z, in: z, kernel: [1, 1, 1])

        // Decoder.
        let base = c.decoderBaseDim ?? c.baseDim
        let decDims = ([c.dimMult.last!] + c.dimMult.reversed()).map { base * $0 }
        let temporalUp = Array(c.temperalDownsample.prefix(c.dimMult.count - 1).reversed())
        decoderIn = CausalConvolution(convolution: try r.convolution("decoder.conv_in", out: decDims[0], in: z, kernel: [3, 3, 3]))
        decoderMid = try VAEMidBlock(r, "decoder.mid_block", dim: decDims[0])
        var blocks: [(resnets: [VAEResidualBlock], upsample: VAEUpsample?)] = []
        var decConvs = 1 + 2 * VAEResidualBlock.convolutionCount
        for i in 0..<c.dimMult.count {
            var inDim = i > 0 ? decDims[i] / 2 : decDims[i]
            let outDim = decDims[i + 1]
            var resnets: [VAEResidualBlock] = []
            for j in 0...c.numResBlocks {
                resnets.append(try VAEResidualBlock(r, "decoder.up_blocks.\(i).resnets.\(j)", in: inDim, out: outDim))
                decConvs += VAEResidualBlock.convolutionCount
                inDim = outDim
            }
            var upsample: VAEUpsample?
            if i != c.dimMult.count - 1 {
                upsample = try VAEUpsample(r, "decoder.up_blocks.\(i).upsamplers.0", dim: outDim, temporal: temporalUp[i])
                if temporalUp[i] { decConvs += 1 }
            }
            blocks.append((resnets, upsample))
        }
        decoderBlocks = blocks
        decoderNorm = try r.gamma("decoder.norm_out", decDims.last!)
        decoderOut = CausalConvolution(convolution: try r.convolution("decoder.conv_out", out: 3, in: decDims.last!, kernel: [3, 3, 3]))
        decoderConvolutions = decConvs + 1
    }

    /// Runs the decoder on one latent frame of one stream (the whole picture or one tile),
    /// without the final clamp.
    private func decodeChunk(_ x: Frames, states: inout ConvolutionStates, context: ComputeContext) -> Frames {
        states.cursor = 0
        var h = x
        let index = states.next()
        h = decoderIn.apply(h, history: &states.histories[index], context: context)
        h = decoderMid.apply(h, states: &states, context: context)
        for block in decoderBlocks {
            for resnet in block.resnets { h = resnet.apply(h, states: &states, context: context) }
            if let upsample = block.upsample { h = upsample.apply(h, states: &states, context: context) }
        }
        channelRMSNorm(&h, gamma: decoderNorm, context: context)
        silu(&h, context: context)
        let outIndex = states.next()
        return decoderOut.apply(h, history: &states.histories[outIndex], context: context)
    }

    /// Decodes normalised-space latents `[z, T, h, w]` (already mapped back with
    /// `z·std + mean`) to RGB frames in [−1, 1], one latent frame at a time. `onFrames` receives
    /// 1 frame for the first latent frame and 4 for each later one.
    public func decode(_ latents: Tensor, context: ComputeContext, onFrames: (Frames) throws -> Void) throws {
        guard latents.rank == 4, latents.shape[0] == config.zDim else {
            throw EngineError("VAE latents must be [\(config.zDim), T, H, W], got \(latents.shape)")
        }
        let x = postQuantConv.apply(Frames(channelsFirst: latents), context: context)
        var states = ConvolutionStates(count: decoderConvolutions)
        for t in 0..<x.count {
            var h = decodeChunk(x.frames(t..<(t + 1)), states: &states, context: context)
            for i in 0..<h.data.count { h.data[i] = min(1, max(-1, h.data[i])) }
            try onFrames(h)
        }
    }

    /// Tiled decoding for large frames, as diffusers' `tiled_decode`: overlapping spatial tiles
    /// of `tile` pixels every `stride` pixels are decoded as independent streams and blended
    /// linearly over the overlap. Here tiles advance together one latent frame at a time, so
    /// memory stays bounded by one chunk of every tile.
    public func decodeTiled(_ latents: Tensor, tile: Int = 256, stride tileStride: Int = 192, context: ComputeContext,
                            onFrames: (Frames) throws -> Void) throws {
        guard latents.rank == 4, latents.shape[0] == config.zDim else {
            throw EngineError("VAE latents must be [\(config.zDim), T, H, W], got \(latents.shape)")
        }
        let scale = 1 << (config.dimMult.count - 1)
        guard tile % scale == 0, tileStride % scale == 0, tileStride > 0, tileStride <= tile else {
            throw EngineError("VAE tile \(tile) and stride \(tileStride) must be multiples of \(scale) with stride ≤ tile")
        }
        let x = postQuantConv.apply(Frames(channelsFirst: latents), context: context)
        let (latentTile, latentStride) = (tile / scale, tileStride / scale)
        let rowStarts = Array(Swift.stride(from: 0, to: x.height, by: latentStride))
        let columnStarts = Array(Swift.stride(from: 0, to: x.width, by: latentStride))
        var states = Array(repeating: Array(repeating: ConvolutionStates(count: decoderConvolutions), count: columnStarts.count),
                           count: rowStarts.count)
        let blend = tile - tileStride
        let (outHeight, outWidth) = (x.height * scale, x.width * scale)
        for t in 0..<x.count {
            let chunk = x.frames(t..<(t + 1))
            var tiles: [[Frames]] = []
            for (r, top) in rowStarts.enumerated() {
                var row: [Frames] = []
                for (c, left) in columnStarts.enumerated() {
                    let piece = Self.crop(chunk, top: top, left: left, height: min(latentTile, x.height - top), width: min(latentTile, x.width - left))
                    row.append(decodeChunk(piece, states: &states[r][c], context: context))
                }
                tiles.append(row)
            }
            let frames = tiles[0][0].count
            var out = Frames(zeros: frames, height: outHeight, width: outWidth, channels: 3)
            for r in 0..<tiles.count {
                for c in 0..<tiles[r].count {
                    if r > 0 { Self.blendVertical(from: tiles[r - 1][c], into: &tiles[r][c], extent: blend) }
                    if c > 0 { Self.blendHorizontal(from: tiles[r][c - 1], into: &tiles[r][c], extent: blend) }
                    let t = tiles[r][c]
                    let (top, left) = (rowStarts[r] * scale, columnStarts[c] * scale)
                    for f in 0..<frames {
                        for y in 0..<min(tileStride, t.height, outHeight - top) {
                            for xx in 0..<min(tileStride, t.width, outWidth - left) {
                                for ch in 0..<3 {
                                    let value = t.data[((f * t.height + y) * t.width + xx) * 3 + ch]
                                    out.data[((f * outHeight + top + y) * outWidth + left + xx) * 3 + ch] = min(1, max(-1, value))
                                }
                            }
                        }
                    }
                }
            }
            try onFrames(out)
        }
    }

    static func crop(_ x: Frames, top: Int, left: Int, height: Int, width: Int) -> Frames {
        var out = Frames(zeros: x.count, height: height, width: width, channels: x.channels)
        for f in 0..<x.count {
            for y in 0..<height {
                for xx in 0..<width {
                    for c in 0..<x.channels {
                        out.data[((f * height + y) * width + xx) * x.channels + c] = x.data[((f * x.height + top + y) * x.width + left + xx) * x.channels + c]
                    }
                }
            }
        }
        return out
    }

    /// diffusers' `blend_v`: the first rows of `b` fade in from the last rows of `a`.
    static func blendVertical(from a: Frames, into b: inout Frames, extent requested: Int) {
        let extent = min(a.height, b.height, requested)
        guard extent > 0 else { return }
        let c = b.channels
        for f in 0..<b.count {
            for y in 0..<extent {
                let wa = Float(1 - Double(y) / Double(extent)), wb = Float(Double(y) / Double(extent))
                for xx in 0..<min(a.width, b.width) {
                    for ch in 0..<c {
                        let ia = ((f * a.height + a.height - extent + y) * a.width + xx) * c + ch
                        let ib = ((f * b.height + y) * b.width + xx) * c + ch
                        b.data[ib] = a.data[ia] * wa + b.data[ib] * wb
                    }
                }
            }
        }
    }

    /// diffusers' `blend_h`: the first columns of `b` fade in from the last columns of `a`.
    static func blendHorizontal(from a: Frames, into b: inout Frames, extent requested: Int) {
        let extent = min(a.width, b.width, requested)
        guard extent > 0 else { return }
        let c = b.channels
        for f in 0..<b.count {
            for y in 0..<min(a.height, b.height) {
                for xx in 0..<extent {
                    let wa = Float(1 - Double(xx) / Double(extent)), wb = Float(Double(xx) / Double(extent))
                    for ch in 0..<c {
                        let ia = ((f * a.height + y) * a.width + a.width - extent + xx) * c + ch
                        let ib = ((f * b.height + y) * b.width + xx) * c + ch
                        b.data[ib] = a.data[ia] * wa + b.data[ib] * wb
                    }
                }
            }
        }
    }

    /// Decodes the whole clip: `[T_out, H, W, 3]` channels-last in [−1, 1].
    public func decode(_ latents: Tensor, context: ComputeContext) throws -> Frames {
        var all: Frames?
        try decode(latents, context: context) { chunk in all = all.map { $0.appending(chunk) } ?? chunk }
        return all!
    }

    /// Encodes RGB frames `[3, F, H, W]` in [−1, 1] to the posterior mean `[z, 1 + (F−1)/4, H/8, W/8]`
    /// (raw, before latents mean/std normalisation).
    public func encode(_ video: Tensor, context: ComputeContext) throws -> Tensor {
        guard video.rank == 4, video.shape[0] == 3 else { throw EngineError("VAE input must be [3, F, H, W], got \(video.shape)") }
        let frames = Frames(channelsFirst: video)
        var states = ConvolutionStates(count: encoderConvolutions)
        var chunks: [Range<Int>] = [0..<1]
        var start = 1
        while start < frames.count {
            chunks.append(start..<min(start + 4, frames.count))
            start += 4
        }
        var encoded: Frames?
        for chunk in chunks {
            states.cursor = 0
            var h = frames.frames(chunk)
            let index = states.next()
            h = encoderIn.apply(h, history: &states.histories[index], context: context)
            for layer in encoderLayers {
                switch layer {
                case .residual(let block): h = block.apply(h, states: &states, context: context)
                case .downsample(let block): h = block.apply(h, states: &states, context: context)
                }
            }
            h = encoderMid.apply(h, states: &states, context: context)
            channelRMSNorm(&h, gamma: encoderNorm, context: context)
            silu(&h, context: context)
            let outIndex = states.next()
            h = encoderOut.apply(h, history: &states.histories[outIndex], context: context)
            encoded = encoded.map { $0.appending(h) } ?? h
        }
        let moments = quantConv.apply(encoded!, context: context).channelsFirst  // [2z, T, h, w]
        let z = config.zDim
        let plane = moments.count / (2 * z)
        return Tensor(shape: [z] + Array(moments.shape.dropFirst()), scalars: Array(moments.scalars[0..<(z * plane)]))
    }

    /// `z·std + mean` per channel: from the diffusion model's latent space to the VAE's.
    public func denormalize(_ latents: Tensor) -> Tensor {
        var out = latents
        let plane = latents.count / config.zDim
        for c in 0..<config.zDim {
            for i in 0..<plane { out.scalars[c * plane + i] = latents.scalars[c * plane + i] * config.latentsStd[c] + config.latentsMean[c] }
        }
        return out
    }

    /// `(z − mean) / std` per channel: from the VAE's latent space to the diffusion model's.
    public func normalize(_ latents: Tensor) -> Tensor {
        var out = latents
        let plane = latents.count / config.zDim
        for c in 0..<config.zDim {
            let inv = 1 / config.latentsStd[c]
            for i in 0..<plane { out.scalars[c * plane + i] = (latents.scalars[c * plane + i] - config.latentsMean[c]) * inv }
        }
        return out
    }
}
