import ArgumentParser
import Foundation
import MoviolaEngine
import MoviolaTensor

/// `moviola generate`: denoise latents with a Wan transformer.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a clip from a prompt.",
        discussion: """
            Not built yet: the UMT5 text encoder and the VAE. Until they land, generate takes precomputed prompt \
            embeddings (--prompt-embeds) and stops at latents (--output-latents); a text prompt, --negative-prompt and \
            MP4 output say so instead of pretending. With --initial-noise the run replays exactly (the noise file's \
            shape sets frames and size); otherwise --seed draws the noise, bit-identically on every run.
            """
    )

    @Argument(help: "The prompt (needs the text encoder, not built yet; use --prompt-embeds).")
    var prompt: String?

    @Option(help: "A diffusers Wan pipeline folder (model_index.json, transformer/, scheduler/). Default: models/moviola-mini.")
    var model: String?

    @Option(help: "safetensors file with tensor prompt_embeds [1, L, text_dim] (and optionally negative_prompt_embeds).")
    var promptEmbeds: String?

    @Option(help: "safetensors file with tensor negative_prompt_embeds (or prompt_embeds) for guidance.")
    var negativePromptEmbeds: String?

    @Option(help: "Negative prompt text (needs the text encoder, not built yet).")
    var negativePrompt: String?

    @Option(help: "Seed for the initial noise.")
    var seed: UInt64 = 0

    @Option(help: "Denoising steps.")
    var steps: Int = 30

    @Option(help: "Classifier-free guidance scale (1 disables guidance).")
    var guidance: Float = 5.0

    @Option(help: "euler or unipc (default: the model's scheduler_config.json).")
    var scheduler: String?

    @Option(help: "Frame count; rounded to 4k+1.")
    var frames: Int?

    @Option(help: "Output size WxH; rounded down to multiples of 16.")
    var size: String?

    @Option(help: "safetensors file with tensor latents [1, C, T, H, W] to start from instead of seeded noise.")
    var initialNoise: String?

    @Option(help: "Write the final latents (tensor latents) to this safetensors file.")
    var outputLatents: String?

    @Option(help: "CPU threads (default: all cores or MOVIOLA_THREADS).")
    var threads: Int?

    @Flag(help: "No progress bar.")
    var quiet = false

    func run() throws {
        do {
            try generate()
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }

    func generate() throws {
        // Check everything that can be checked before any weights are loaded.
        if promptEmbeds == nil {
            if prompt != nil {
                throw EngineError("turning a text prompt into embeddings needs the UMT5 text encoder, which is not built yet; pass --prompt-embeds FILE.safetensors (tensor prompt_embeds)")
            }
            throw EngineError("nothing to condition on: pass --prompt-embeds FILE.safetensors (text prompts need the text encoder, not built yet)")
        }
        if negativePrompt != nil {
            throw EngineError("--negative-prompt needs the UMT5 text encoder, which is not built yet; pass --negative-prompt-embeds FILE.safetensors")
        }
        guard let outputLatents else {
            throw EngineError("the VAE decoder is not built yet, so generate stops at latents: pass --output-latents FILE.safetensors")
        }
        guard steps >= 1 && steps <= 1000 else { throw EngineError("--steps must be between 1 and 1000, got \(steps)") }
        guard guidance.isFinite && guidance >= 0 else { throw EngineError("--guidance must be a non-negative number") }
        if let threads, threads < 1 { throw EngineError("--threads must be at least 1") }
        if let scheduler, !["euler", "unipc"].contains(scheduler) {
            throw EngineError("--scheduler must be euler or unipc, got \(scheduler)")
        }
        let requestedSize = try size.map(Self.parseSize)
        if let frames, frames < 1 { throw EngineError("--frames must be at least 1, got \(frames)") }

        let modelPath = model ?? MoviolaHome.resolve("models/moviola-mini")
        if model == nil, !FileManager.default.fileExists(atPath: modelPath) {
            throw EngineError("no --model given, and the bundled model (models/moviola-mini) is not there yet; pass --model DIR with a diffusers Wan pipeline folder")
        }
        let folder = try PipelineFolder(path: modelPath)
        var schedulerConfig = try folder.schedulerConfig()
        if let scheduler { schedulerConfig = try schedulerConfig.converted(to: scheduler) }

        let embeddingsFile = try SafetensorsFile(path: promptEmbeds!)
        let prompt = try Self.batched(try embeddingsFile.tensor(Self.pick(embeddingsFile, ["prompt_embeds"])), name: "prompt_embeds", file: promptEmbeds!)
        var negative: Tensor?
        if let negativePromptEmbeds {
            let file = try SafetensorsFile(path: negativePromptEmbeds)
            negative = try Self.batched(try file.tensor(Self.pick(file, ["negative_prompt_embeds", "prompt_embeds"])), name: "negative_prompt_embeds", file: negativePromptEmbeds)
        } else if embeddingsFile.entries["negative_prompt_embeds"] != nil {
            negative = try Self.batched(try embeddingsFile.tensor("negative_prompt_embeds"), name: "negative_prompt_embeds", file: promptEmbeds!)
        }
        if guidance > 1 && negative == nil {
            throw EngineError("guidance \(guidance) needs negative prompt embeddings: add a negative_prompt_embeds tensor to \(promptEmbeds!), pass --negative-prompt-embeds, or use --guidance 1")
        }

        let transformer = try folder.loadTransformer()
        let channels = transformer.config.inChannels
        let latents: Tensor
        if let initialNoise {
            let file = try SafetensorsFile(path: initialNoise)
            latents = try file.tensor(Self.pick(file, ["latents"]))
            guard latents.rank == 5, latents.shape[0] == 1, latents.shape[1] == channels else {
                throw EngineError("\(initialNoise): latents must be [1, \(channels), T, H, W] for this model, got \(latents.shape)")
            }
            if let frames, (frames - 1) / 4 + 1 != latents.shape[2] {
                throw EngineError("--frames \(frames) does not match the \(latents.shape[2]) latent frames of \(initialNoise)")
            }
            if let s = requestedSize, s.height / 8 != latents.shape[3] || s.width / 8 != latents.shape[4] {
                throw EngineError("--size \(s.width)x\(s.height) does not match the \(latents.shape[4] * 8)x\(latents.shape[3] * 8) latents of \(initialNoise)")
            }
        } else {
            var frameCount = frames ?? 17
            if (frameCount - 1) % 4 != 0 {
                let adjusted = frameCount / 4 * 4 + 1
                notice("frame count \(frameCount) is not of the form 4k+1; using \(adjusted)")
                frameCount = adjusted
            }
            var (width, height) = requestedSize ?? (832, 480)
            let multiple = 8 * transformer.config.patchSize[1]
            if width % multiple != 0 || height % multiple != 0 {
                let (w, h) = (width / multiple * multiple, height / multiple * multiple)
                guard w > 0, h > 0 else { throw EngineError("--size \(width)x\(height) is smaller than one \(multiple)-pixel patch") }
                notice("size \(width)x\(height) is not a multiple of \(multiple); using \(w)x\(h)")
                (width, height) = (w, h)
            }
            latents = GaussianNoise(seed: seed).tensor(shape: [1, channels, (frameCount - 1) / 4 + 1, height / 8, width / 8])
        }

        let compute = ComputeContext(threads: threads)
        let bar = ProgressBar(total: steps, label: "denoising", enabled: !quiet)
        bar.update(0)
        let denoiser = WanDenoiser(transformer: transformer)
        let result = try denoiser.denoise(
            initialLatents: latents, promptEmbeds: prompt, negativePromptEmbeds: negative, guidanceScale: guidance,
            scheduler: schedulerConfig, steps: steps, compute: compute, progress: { bar.update($0.step) })
        try SafetensorsWriter.write(["latents": result], metadata: ["format": "pt", "producer": "moviola"], to: outputLatents)
        if !quiet { notice("wrote latents \(result.shape) to \(outputLatents)") }
    }

    static func parseSize(_ text: String) throws -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w <= 8192, h <= 8192 else {
            throw EngineError("--size must be WIDTHxHEIGHT with each side between 1 and 8192, got \(text)")
        }
        return (w, h)
    }

    static func pick(_ file: SafetensorsFile, _ names: [String]) throws -> String {
        if let name = names.first(where: { file.entries[$0] != nil }) { return name }
        if file.entries.count == 1 { return file.names[0] }
        throw EngineError("\(file.path): has no tensor named \(names.joined(separator: " or ")) (found \(file.names.joined(separator: ", ")))")
    }

    static func batched(_ t: Tensor, name: String, file: String) throws -> Tensor {
        if t.rank == 2 { return t.reshaped([1] + t.shape) }
        guard t.rank == 3, t.shape[0] == 1 else { throw EngineError("\(file): \(name) must be [1, L, dim] or [L, dim], got \(t.shape)") }
        return t
    }
}
