import Foundation
import MoviolaTensor
import Synchronization

/// What to generate.
public struct GenerationRequest: Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var frames: Int
    public var width: Int
    public var height: Int
    public var steps: Int
    public var guidanceScale: Float
    public var seed: UInt64
    /// Overrides the seeded noise: `[1, C, T, H, W]`.
    public var initialNoise: Tensor?
    /// First frame, `[3, H, W]` in [−1, 1] at the output size (image-to-video / extension).
    public var firstFrame: Tensor?
    /// `euler` or `unipc`; nil uses the model's scheduler.
    public var scheduler: String?
    /// Decode in overlapping tiles of this many pixels (stride ¾ of it) to bound memory for large frames.
    public var vaeTile: Int?
    /// Send a `.preview` every this many denoising steps (and after the last); nil sends none.
    public var previewEvery: Int?

    public init(prompt: String, negativePrompt: String = "", frames: Int = 17, width: Int = 832, height: Int = 480,
                steps: Int = 30, guidanceScale: Float = 5, seed: UInt64 = 0, initialNoise: Tensor? = nil,
                firstFrame: Tensor? = nil, scheduler: String? = nil) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.frames = frames
        self.width = width
        self.height = height
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.seed = seed
        self.initialNoise = initialNoise
        self.firstFrame = firstFrame
        self.scheduler = scheduler
    }
}

/// Where a generation is, for progress displays.
public enum GenerationStage: Sendable {
    case encodingText
    case denoising(step: Int, of: Int)
    case decoding(framesDone: Int, of: Int)
    /// A rough look at the clip while it is denoised: the middle latent frame of the current clean
    /// estimate, decoded on its own (`[1, H, W, 3]` in [0, 1]); sent when `previewEvery` is set.
    case preview(step: Int, of: Int, frame: Frames)
}

/// A Wan text-to-video / first-frame image-to-video pipeline over a diffusers folder: tokenizer,
/// UMT5 text encoder, transformer, scheduler and VAE, all native Swift.
public final class WanPipeline: Sendable {
    public let folder: PipelineFolder
    public let tokenizer: UnigramTokenizer
    public let textEncoder: UMT5Encoder
    public let transformer: WanTransformer3DModel
    public let vae: WanVAE
    public let schedulerConfig: SchedulerConfig
    /// Text length the transformer always sees (prompt embeddings are zero-padded to it).
    public let maxSequenceLength: Int
    private let promptCache = Mutex<[String: Tensor]>([:])

    /// `maxSequenceLength` defaults to the folder's `moviola.json` (`max_sequence_length`), else
    /// 512 as in Wan's releases: the transformer only behaves as trained with the padding it learned.
    public init(folder: PipelineFolder, maxSequenceLength: Int? = nil) throws {
        for component in ["tokenizer", "text_encoder", "transformer", "vae", "scheduler"] where folder.components[component] == nil {
            throw EngineError("\(folder.path): model_index.json has no \(component), so this folder cannot turn text into video")
        }
        self.folder = folder
        tokenizer = try UnigramTokenizer.load(directory: folder.componentPath("tokenizer"))
        textEncoder = try UMT5Encoder.load(directory: folder.componentPath("text_encoder"))
        transformer = try folder.loadTransformer()
        vae = try WanVAE.load(directory: folder.componentPath("vae"))
        schedulerConfig = try folder.schedulerConfig()
        let length = try maxSequenceLength ?? ModelCard.load(folder: folder.path)?.maxSequenceLength ?? 512
        guard (1...4096).contains(length) else {
            throw EngineError("\(folder.path): max_sequence_length \(length) is outside 1…4096")
        }
        self.maxSequenceLength = length
        guard textEncoder.config.dModel == transformer.config.textDim else {
            throw EngineError("\(folder.path): the text encoder's width \(textEncoder.config.dModel) does not match the transformer's text_dim \(transformer.config.textDim)")
        }
        guard vae.config.zDim == transformer.config.inChannels, vae.config.zDim == transformer.config.outChannels else {
            throw EngineError("\(folder.path): the VAE's z_dim \(vae.config.zDim) does not match the transformer's channels")
        }
        guard tokenizer.vocabularySize <= textEncoder.config.vocabSize else {
            throw EngineError("\(folder.path): the tokenizer has \(tokenizer.vocabularySize) pieces but the text encoder only \(textEncoder.config.vocabSize) embeddings")
        }
    }

    /// Spatial and temporal compression of the VAE.
    public var spatialScale: Int { 1 << (vae.config.dimMult.count - 1) }
    public var temporalScale: Int { 1 << vae.config.temperalDownsample.prefix(vae.config.dimMult.count - 1).filter { $0 }.count }
    /// Output sizes must be multiples of this.
    public var sizeMultiple: Int { spatialScale * transformer.config.patchSize[1] }

    /// diffusers' `prompt_clean`: HTML entities unescaped twice, whitespace runs collapsed, trimmed.
    public static func cleanPrompt(_ text: String) -> String {
        let unescaped = HTMLEntities.unescape(HTMLEntities.unescape(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return unescaped.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Prompt embeddings `[1, maxSequenceLength, d_model]`: the real tokens' hidden states,
    /// zero-padded. Cached per prompt for the life of the pipeline.
    public func encodePrompt(_ prompt: String, compute: ComputeContext) throws -> Tensor {
        let clean = Self.cleanPrompt(prompt)
        if let cached = promptCache.withLock({ $0[clean] }) { return cached }
        let ids = tokenizer.encode(clean, maxLength: maxSequenceLength)
        let hidden = try textEncoder.encode(ids, context: compute)
        let d = textEncoder.config.dModel
        var padded = [Float](repeating: 0, count: maxSequenceLength * d)
        for i in 0..<min(hidden.count, padded.count) { padded[i] = hidden.scalars[i] }
        let embeddings = Tensor(shape: [1, maxSequenceLength, d], scalars: padded)
        promptCache.withLock { $0[clean] = embeddings }
        return embeddings
    }

    /// Generates a clip; frames come out `[T, H, W, 3]` in [0, 1] through `onFrames`, chunk by chunk.
    public func generate(
        _ request: GenerationRequest, compute: ComputeContext,
        progress: (GenerationStage) throws -> Void = { _ in },
        onFrames: (Frames) throws -> Void
    ) throws {
        let multiple = sizeMultiple
        guard request.width % multiple == 0, request.height % multiple == 0, request.width > 0, request.height > 0 else {
            throw EngineError("size \(request.width)x\(request.height) must be a positive multiple of \(multiple)")
        }
        guard (request.frames - 1) % temporalScale == 0, request.frames >= 1 else {
            throw EngineError("frame count \(request.frames) must be \(temporalScale)k+1")
        }
        let latentShape = [1, transformer.config.inChannels, (request.frames - 1) / temporalScale + 1,
                           request.height / spatialScale, request.width / spatialScale]
        let noise = request.initialNoise ?? GaussianNoise(seed: request.seed).tensor(shape: latentShape)
        guard noise.shape == latentShape else {
            throw EngineError("initial noise must be \(latentShape) for \(request.frames) frames at \(request.width)x\(request.height), got \(noise.shape)")
        }
        try progress(.encodingText)
        let prompt = try encodePrompt(request.prompt, compute: compute)
        let negative = request.guidanceScale > 1 ? try encodePrompt(request.negativePrompt, compute: compute) : nil
        var firstFrameLatents: Tensor?
        if let image = request.firstFrame {
            guard image.shape == [3, request.height, request.width] else {
                throw EngineError("first frame must be [3, \(request.height), \(request.width)], got \(image.shape)")
            }
            let encoded = try vae.encode(image.reshaped([3, 1, request.height, request.width]), context: compute)
            firstFrameLatents = vae.normalize(encoded)
        }
        var scheduler = schedulerConfig
        if let name = request.scheduler { scheduler = try scheduler.converted(to: name) }
        try progress(.denoising(step: 0, of: request.steps))
        let latents = try WanDenoiser(transformer: transformer).denoise(
            initialLatents: noise, promptEmbeds: prompt, negativePromptEmbeds: negative,
            guidanceScale: request.guidanceScale, firstFrame: firstFrameLatents,
            scheduler: scheduler, steps: request.steps, compute: compute,
            progress: { state in
                try progress(.denoising(step: state.step, of: state.totalSteps))
                if let every = request.previewEvery, every > 0, state.step % every == 0 || state.step == state.totalSteps,
                   let frame = try? previewFrame(state.predictedSample, compute: compute) {
                    try progress(.preview(step: state.step, of: state.totalSteps, frame: frame))
                }
            })
        var done = 0
        let decodeLatents = vae.denormalize(latents.slice(0))
        let emit: (Frames) throws -> Void = { chunk in
            var frames = chunk
            for i in 0..<frames.data.count { frames.data[i] = max(0, min(1, frames.data[i] / 2 + 0.5)) }
            done += frames.count
            try progress(.decoding(framesDone: done, of: request.frames))
            try onFrames(frames)
        }
        if let tile = request.vaeTile {
            let step = max(spatialScale, tile * 3 / 4 / spatialScale * spatialScale)
            try vae.decodeTiled(decodeLatents, tile: tile, stride: step, context: compute, onFrames: emit)
        } else {
            try vae.decode(decodeLatents, context: compute, onFrames: emit)
        }
    }
}

extension WanPipeline {
    /// Decodes the middle latent frame of `[C, F, H, W]` normalised latents alone, as one RGB frame in [0, 1].
    func previewFrame(_ latents: Tensor, compute: ComputeContext) throws -> Frames {
        let (c, f, h, w) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3])
        let middle = f / 2
        var single = Tensor(zeros: [c, 1, h, w])
        for channel in 0..<c {
            for i in 0..<(h * w) { single.scalars[channel * h * w + i] = latents.scalars[(channel * f + middle) * h * w + i] }
        }
        var result: Frames?
        try vae.decode(vae.denormalize(single), context: compute) { chunk in
            if result == nil { result = chunk }
        }
        guard var frame = result else { throw EngineError("the VAE decoded no preview frame") }
        for i in 0..<frame.data.count { frame.data[i] = max(0, min(1, frame.data[i] / 2 + 0.5)) }
        return frame
    }
}

/// The HTML entity decoding Python's `html.unescape` performs, for the entities prompts use.
enum HTMLEntities {
    static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "deg": "°",
    ]

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[rest.index(after: amp)...]
            if let semi = tail.prefix(32).firstIndex(of: ";") {
                let name = String(tail[..<semi])
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) {
                    replacement = String(Character(s))
                } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()), let s = Unicode.Scalar(v) {
                    replacement = String(Character(s))
                } else {
                    replacement = named[name]
                }
                if let replacement {
                    out += replacement
                    rest = tail[tail.index(after: semi)...]
                    continue
                }
            }
            out += "&"
            rest = tail
        }
        out += rest
        return out
    }
}
