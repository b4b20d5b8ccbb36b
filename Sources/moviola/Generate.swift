import ArgumentParser
import Foundation
import MoviolaEngine
import MoviolaMedia
import MoviolaProvenance
import MoviolaServer
import MoviolaTensor
import MoviolaWorker

/// `moviola generate`: denoise latents with a Wan transformer.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a clip from a prompt (and optionally a first frame) as an H.264 MP4.",
        discussion: """
            With a text prompt, the whole pipeline runs in Swift: tokenizer, UMT5 text encoder, Wan transformer, \
            scheduler and VAE, then H.264 MP4. The same prompt, seed and settings give a bit-identical file. \
            With --prompt-embeds instead of a prompt, generation stops at latents (--output-latents), for replaying \
            and comparing runs of other implementations; --initial-noise replays exact noise. \
            The frame count is rounded to 4k+1 and the size down to a multiple of 16, with a notice. \
            --image fits a first frame to the output size by scaling it to cover the frame and cropping the centre.
            """
    )

    @Argument(help: "What to generate, in English or Chinese.")
    var prompt: String?

    @Option(name: [.short, .customLong("output")], help: "Output MP4 file.")
    var output: String = "video.mp4"

    @Option(help: "A diffusers Wan pipeline folder (model_index.json, transformer/, scheduler/). Default: models/moviola-mini.")
    var model: String?

    @Option(help: "safetensors file with tensor prompt_embeds [1, L, text_dim] (and optionally negative_prompt_embeds).")
    var promptEmbeds: String?

    @Option(help: "safetensors file with tensor negative_prompt_embeds (or prompt_embeds) for guidance.")
    var negativePromptEmbeds: String?

    @Option(help: "What to steer away from (used when --guidance > 1).")
    var negativePrompt: String = ""

    @Option(help: "Seed for the initial noise.")
    var seed: UInt64 = 0

    @Option(name: .customLong("steps"), help: "Denoising steps (default: the model's moviola.json, else 30).")
    var stepsOption: Int?

    @Option(help: "Classifier-free guidance scale (1 disables guidance).")
    var guidance: Float = 5.0

    @Option(help: "euler or unipc (default: the model's scheduler_config.json).")
    var scheduler: String?

    @Option(help: "Frame count; rounded to 4k+1.")
    var frames: Int?

    @Option(help: "Clip length in seconds (instead of --frames).")
    var duration: Double?

    @Option(name: .customLong("fps"), help: "Frames per second the model generates at (default: the model's, else 16).")
    var fpsOption: Int?

    @Option(help: "Output size WxH; rounded down to multiples of 16.")
    var size: String?

    @Option(help: "Aspect ratio 16:9, 9:16 or 1:1 at --resolution on the short side (instead of --size).")
    var aspect: String?

    @Option(name: .customLong("resolution"), help: "Short side in pixels for --aspect (default: the model's, else 480).")
    var resolutionOption: Int?

    /// Defaults a model folder can carry in `moviola.json` (written by the training recipe).
    struct ModelDefaults: Decodable {
        var short_side: Int?
        var frames: Int?
        var fps: Int?
        var steps: Int?
        var output_short_side: Int?
        var output_fps: Int?
    }

    var defaults: ModelDefaults {
        let path = ((model ?? MoviolaHome.resolve("models/moviola-mini")) as NSString).appendingPathComponent("moviola.json")
        guard let data = FileManager.default.contents(atPath: path),
              let parsed = try? JSONDecoder().decode(ModelDefaults.self, from: data) else { return ModelDefaults() }
        return parsed
    }
    var steps: Int { stepsOption ?? defaults.steps ?? 30 }
    var fps: Int { fpsOption ?? defaults.fps ?? 16 }
    var resolution: Int { resolutionOption ?? defaults.short_side ?? 480 }
    /// The output file's short side: asked for, else the model's when its default size is used, else as generated.
    var outputResolution: Int? {
        outputResolutionOption ?? (size == nil && resolutionOption == nil ? defaults.output_short_side : nil)
    }
    /// The output file's frame rate: asked for, else the model's when its default rate is used, else as generated.
    var outputFPS: Int { outputFPSOption ?? (fpsOption == nil ? defaults.output_fps ?? fps : fps) }

    @Option(name: .customLong("output-resolution"),
            help: "Short side of the output file; frames are upscaled to it (default: the model's moviola.json, else as generated).")
    var outputResolutionOption: Int?

    @Option(name: .customLong("output-fps"),
            help: "Frame rate of the output file; frames in between are blended (default: the model's moviola.json, else --fps).")
    var outputFPSOption: Int?

    @Option(help: "First frame (PNG, JPEG, …): image-to-video.")
    var image: String?

    @Option(help: "Extend a clip: its last frame starts the new frames, and the output holds the clip followed by them.")
    var extend: String?

    @Option(help: "Decode the VAE in overlapping tiles of this many pixels (for large frames; bounds memory).")
    var vaeTile: Int?

    @Option(help: "x264 quality: 0 (lossless) … 51; 18 is visually lossless.")
    var crf: Int = 18

    @Option(help: "Also write the frames as safetensors (tensor frames, [T, H, W, 3] float32 in [0, 1]).")
    var outputRaw: String?

    @Option(help: "safetensors file with tensor latents [1, C, T, H, W] to start from instead of seeded noise.")
    var initialNoise: String?

    @Option(help: "Write the final latents (tensor latents) to this safetensors file.")
    var outputLatents: String?

    @Option(help: "Text of the burned-in label (default \"AI生成 · AI-generated\").")
    var labelText = VisibleLabel.defaultText

    @Flag(name: .customLong("operator-disable-visible-label"),
          help: "Operator setting: leave out the burned-in label (recorded in the C2PA manifest and data/audit.log; the watermark, AIGC metadata and manifest stay).")
    var disableVisibleLabel = false

    @Option(help: "Provider code written as ContentProducer in the AIGC metadata (default: MOVIOLA_PROVIDER_CODE, else moviola-local).")
    var contentProducer: String?

    @Option(help: "Re-render a finished generation from its replay receipt (GET /api/v1/generations/ID/receipt) and check the frames are identical.")
    var replay: String?

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
        if let replay {
            try replayReceipt(replay)
            return
        }
        guard steps >= 1 && steps <= 1000 else { throw EngineError("--steps must be between 1 and 1000, got \(steps)") }
        guard guidance.isFinite && guidance >= 0 else { throw EngineError("--guidance must be a non-negative number") }
        if let threads, threads < 1 { throw EngineError("--threads must be at least 1") }
        if let scheduler, !["euler", "unipc"].contains(scheduler) {
            throw EngineError("--scheduler must be euler or unipc, got \(scheduler)")
        }
        if let frames, frames < 1 { throw EngineError("--frames must be at least 1, got \(frames)") }
        if frames != nil && duration != nil { throw EngineError("give --frames or --duration, not both") }
        if size != nil && aspect != nil { throw EngineError("give --size or --aspect, not both") }
        if image != nil && extend != nil { throw EngineError("give --image or --extend, not both") }
        guard (1...120).contains(fps) else { throw EngineError("--fps must be between 1 and 120") }
        guard (1...120).contains(outputFPS) else { throw EngineError("--output-fps must be between 1 and 120") }
        if let outputResolution { guard (16...4320).contains(outputResolution) else { throw EngineError("--output-resolution must be between 16 and 4320") } }
        guard (0...51).contains(crf) else { throw EngineError("--crf must be between 0 and 51") }
        if let duration { guard duration > 0 && duration <= 600 else { throw EngineError("--duration must be between 0 and 600 seconds") } }
        if promptEmbeds != nil {
            try generateLatents()
            return
        }
        guard let prompt, !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw EngineError("give a prompt, e.g. moviola generate \"a red ball bounces\" -o ball.mp4")
        }
        guard output.lowercased().hasSuffix(".mp4") else { throw EngineError("-o must name an .mp4 file, got \(output)") }
        let folder = try modelFolder()
        let compute = ComputeContext(threads: threads)
        let loadStart = Date()
        let pipeline: WanPipeline
        do {
            pipeline = try WanPipeline(folder: folder)
        } catch let error as EngineError where error.message.contains("model_index.json has no") {
            throw EngineError("\(error.message); latents-only generation: --prompt-embeds FILE --output-latents FILE")
        }
        if !quiet { notice(String(format: "loaded %@ in %.1f s", folder.path, Date().timeIntervalSince(loadStart))) }
        let card = try ModelCard.load(folder: folder.path)
        if let card, card.vocabulary != nil, card.knownConcepts(in: prompt).isEmpty {
            notice("warning: this model knows none of the objects, colours or backgrounds in the prompt, so the clip will not follow it; `moviola models` lists what it can draw")
        }
        if let limits = card?.limits, !quiet { notice("limits of this model: \(limits)") }

        var earlierClip: [RGBImage] = []
        var earlierFPS: Int?
        if let extend {
            let (info, clip) = try MediaReader.decodeVideo(path: extend)
            guard !clip.isEmpty else { throw EngineError("\(extend): no frames to extend") }
            earlierClip = clip
            earlierFPS = max(1, Int(info.framesPerSecond.rounded()))
            if size != nil || aspect != nil { notice("--extend keeps the size of \(extend)") }
        }
        // The size the model generates at, and the size written (the same unless upscaled).
        let (width, height): (Int, Int)
        var (fileWidth, fileHeight): (Int, Int)
        if let last = earlierClip.last {
            (fileWidth, fileHeight) = (last.width, last.height)
            if last.width % pipeline.sizeMultiple == 0 && last.height % pipeline.sizeMultiple == 0 && outputResolution == nil {
                (width, height) = (last.width, last.height)
            } else {
                let m = pipeline.sizeMultiple, scale = Double(resolution) / Double(min(last.width, last.height))
                (width, height) = (max(m, Int((Double(last.width) * scale / Double(m)).rounded()) * m),
                                   max(m, Int((Double(last.height) * scale / Double(m)).rounded()) * m))
            }
        } else {
            (width, height) = try outputSize(multiple: pipeline.sizeMultiple)
            (fileWidth, fileHeight) = (width, height)
            if let outputResolution, outputResolution != min(width, height) {
                let scale = Double(outputResolution) / Double(min(width, height))
                // Even sizes, as yuv420p needs.
                (fileWidth, fileHeight) = (Int((Double(width) * scale / 2).rounded()) * 2, Int((Double(height) * scale / 2).rounded()) * 2)
            }
        }
        let fileFPS = earlierFPS ?? outputFPS
        var frameCount = frames ?? duration.map { Int(($0 * Double(fps)).rounded()) } ?? defaults.frames ?? 17
        let t = pipeline.temporalScale
        if (frameCount - 1) % t != 0 {
            let adjusted = max(1, frameCount / t * t + 1)
            notice("frame count \(frameCount) is not of the form \(t)k+1; using \(adjusted)")
            frameCount = adjusted
        }
        if let vaeTile {
            guard vaeTile >= 2 * pipeline.spatialScale, vaeTile % pipeline.spatialScale == 0 else {
                throw EngineError("--vae-tile must be a multiple of \(pipeline.spatialScale) pixels, at least \(2 * pipeline.spatialScale)")
            }
        }
        var noise: Tensor?
        if let initialNoise {
            let file = try SafetensorsFile(path: initialNoise)
            noise = try file.tensor(Self.pick(file, ["latents"]))
        }
        var firstFrame: RGBImage?
        if let image {
            let decoded = try MediaReader.decodeImage(path: image)
            if decoded.width * height != decoded.height * width {
                notice("first frame \(decoded.width)x\(decoded.height) scaled to cover \(width)x\(height) and centre-cropped")
            }
            firstFrame = decoded
        } else if let last = earlierClip.last {
            firstFrame = last
        }
        let settings = RenderSettings(prompt: prompt, negativePrompt: negativePrompt, seed: seed, steps: steps, guidance: guidance,
                                      scheduler: scheduler, frames: frameCount, width: width, height: height, fps: fps,
                                      outputWidth: fileWidth, outputHeight: fileHeight, outputFPS: fileFPS, crf: crf, vaeTile: vaeTile)

        let producer = contentProducer ?? ProcessInfo.processInfo.environment["MOVIOLA_PROVIDER_CODE"] ?? "moviola-local"
        let provenance = try OutputProvenance(contentProducer: producer, visibleLabel: disableVisibleLabel ? nil : labelText)
        let marks = OutputMarks(contentID: provenance.contentID, aigcJSON: provenance.aigc.json,
                                labelText: disableVisibleLabel ? nil : labelText,
                                comment: "AI-generated with Moviola (\(folder.path))")
        let partial = output + ".partial"
        var watermarkVerified = false
        var raw: [Float] = []
        var bar: ProgressBar?
        let start = Date()
        let result: RenderResult
        do {
            result = try ClipRenderer(pipeline: pipeline).render(
                settings, marks: marks, firstFrame: firstFrame, earlierClip: earlierClip, to: partial, compute: compute,
                initialNoise: noise, rawFrames: outputRaw == nil ? nil : { raw += $0.data },
                events: { event in
                    guard !quiet else { return }
                    switch event {
                    case .encodingText: notice("encoding the prompt")
                    case .denoising(let step, let total):
                        if bar == nil { bar = ProgressBar(total: total, label: "denoising"); bar?.update(0) }
                        if step > 0 { bar?.update(step) }
                    case .decoding(let done, let total):
                        FileHandle.standardError.write(Data("\rdecoding frames \(done)/\(total)\(done == total ? "\n" : "")".utf8))
                    case .preview: break
                    }
                })
            var ingredients: [ManifestContent.Ingredient] = []
            for input in [image, extend].compactMap({ $0 }) {
                if let bytes = FileManager.default.contents(atPath: input) {
                    ingredients.append(.init(title: (input as NSString).lastPathComponent, format: Self.mediaType(input),
                                             sha256: C2PAManifest.sha256(bytes)))
                }
            }
            try provenance.sign(path: partial, modelName: "Moviola/\((folder.path as NSString).lastPathComponent)",
                                durationMilliseconds: result.framesWritten * 1000 / fileFPS, ingredients: ingredients)
            // The renderer read the written file back (as the server does before publishing) and strengthened the mark if needed.
            watermarkVerified = result.watermarkReadable
            if disableVisibleLabel {
                try FileManager.default.createDirectory(atPath: MoviolaData.path, withIntermediateDirectories: true)
                try AuditTrail.append(directory: MoviolaData.path, ["event": "visible_label_disabled", "produce_id": provenance.produceID,
                                     "output": output, "reason": "operator setting --operator-disable-visible-label"])
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        if let outputRaw {
            // The generated frames (for --extend, without the earlier clip).
            try SafetensorsWriter.write(["frames": Tensor(shape: [raw.count / (height * width * 3), height, width, 3], scalars: raw)], to: outputRaw)
        }
        try? FileManager.default.removeItem(atPath: output)
        try FileManager.default.moveItem(atPath: partial, toPath: output)
        if !watermarkVerified && min(fileWidth, fileHeight) >= 128 {
            notice("warning: the watermark did not read back from \(output) (noise-like, uniform or very dark frames carry it poorly); the C2PA manifest and AIGC metadata are in place")
        }
        if !quiet {
            let generated = (fileWidth, fileHeight, fileFPS) == (width, height, fps) ? ""
                : String(format: " (generated at %dx%d, %d fps)", width, height, fps)
            notice("ProduceID \(provenance.produceID): visible label \(disableVisibleLabel ? "off (operator setting)" : "on"), AIGC metadata, watermark (\(watermarkVerified ? "read back" : "embedded")\(result.watermarkStrength > Watermark.defaultStrength ? String(format: ", strengthened %.0fx for this content", result.watermarkStrength / Watermark.defaultStrength) : "")), signed C2PA manifest")
            notice(String(format: "wrote %@: %d frames, %dx%d, %d fps (%.1f s of video)%@ in %.1f s",
                          output, result.framesWritten, fileWidth, fileHeight, fileFPS, Double(result.framesWritten) / Double(fileFPS),
                          generated, Date().timeIntervalSince(start)))
        }
    }

    /// Renders a receipt's settings again and compares the frames' hash with the receipt's.
    func replayReceipt(_ path: String) throws {
        struct Receipt: Decodable {
            let model: String
            let model_sha256: String?
            let engine_version: String?
            let threads: Int?
            let settings: RenderSettings
            let frames_sha256: String
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError("cannot read \(path)") }
        let receipt: Receipt
        do { receipt = try JSONDecoder().decode(Receipt.self, from: data) } catch {
            throw EngineError("\(path) is not a Moviola replay receipt: \(error)")
        }
        guard prompt == nil else { throw EngineError("--replay takes its prompt and settings from the receipt; give no prompt") }
        guard output.lowercased().hasSuffix(".mp4") else { throw EngineError("-o must name an .mp4 file, got \(output)") }
        let folder = try PipelineFolder(path: model ?? MoviolaHome.resolve("models/\(receipt.model)"))
        if let expected = receipt.model_sha256, let actual = try? ModelFolderHash.sha256(folder.path), actual != expected {
            notice("warning: \(folder.path) is not the model the receipt was made with (sha256 \(actual.prefix(12))…, receipt \(expected.prefix(12))…); the frames will differ")
        }
        if let version = receipt.engine_version, version != EngineVersion.string {
            notice("warning: the receipt was made by \(version), this is \(EngineVersion.string); the frames may differ")
        }
        let pipeline = try WanPipeline(folder: folder)
        let threadCount = threads ?? receipt.threads
        let producer = contentProducer ?? ProcessInfo.processInfo.environment["MOVIOLA_PROVIDER_CODE"] ?? "moviola-local"
        let provenance = try OutputProvenance(contentProducer: producer, visibleLabel: disableVisibleLabel ? nil : labelText)
        let marks = OutputMarks(contentID: provenance.contentID, aigcJSON: provenance.aigc.json,
                                labelText: disableVisibleLabel ? nil : labelText, comment: "AI-generated with Moviola (replay of \(path))")
        let partial = output + ".partial"
        let result = try ClipRenderer(pipeline: pipeline).render(receipt.settings, marks: marks, to: partial,
                                                                  compute: ComputeContext(threads: threadCount))
        try provenance.sign(path: partial, modelName: "Moviola/\((folder.path as NSString).lastPathComponent)",
                            durationMilliseconds: result.framesWritten * 1000 / receipt.settings.outputFPS, ingredients: [])
        try? FileManager.default.removeItem(atPath: output)
        try FileManager.default.moveItem(atPath: partial, toPath: output)
        guard result.framesSHA256 == receipt.frames_sha256 else {
            throw EngineError("replay wrote \(output), but its frames differ from the receipt's (sha256 \(result.framesSHA256.prefix(16))…, receipt \(receipt.frames_sha256.prefix(16))…); check the model files, engine version and --threads \(receipt.threads.map(String.init) ?? "")")
        }
        notice("replay identical: \(result.framesWritten) frames match the receipt (frames sha256 \(result.framesSHA256.prefix(16))…); wrote \(output) with a new ProduceID \(provenance.produceID)")
    }

    func modelFolder() throws -> PipelineFolder {
        let modelPath = model ?? MoviolaHome.resolve("models/moviola-mini")
        if model == nil, !FileManager.default.fileExists(atPath: modelPath) {
            throw EngineError("no --model given, and the bundled model (models/moviola-mini) is not there yet; pass --model DIR with a diffusers Wan pipeline folder")
        }
        return try PipelineFolder(path: modelPath)
    }

    /// The output size from --size, --aspect or the default, rounded down to `multiple` (with a notice for --size).
    func outputSize(multiple: Int) throws -> (Int, Int) {
        var (width, height): (Int, Int)
        if let size {
            (width, height) = try Self.parseSize(size)
        } else {
            let short = resolution
            guard short >= multiple && short <= 4096 else { throw EngineError("--resolution must be between \(multiple) and 4096") }
            switch aspect ?? "16:9" {
            case "16:9": (width, height) = (short * 16 / 9, short)
            case "9:16": (width, height) = (short, short * 16 / 9)
            case "1:1": (width, height) = (short, short)
            default: throw EngineError("--aspect must be 16:9, 9:16 or 1:1, got \(aspect!)")
            }
        }
        if width % multiple != 0 || height % multiple != 0 {
            let (w, h) = (width / multiple * multiple, height / multiple * multiple)
            guard w > 0, h > 0 else { throw EngineError("size \(width)x\(height) is smaller than one \(multiple)-pixel step") }
            // Only a size the user typed gets a notice; one derived from an aspect ratio just rounds.
            if size != nil { notice("size \(width)x\(height) is not a multiple of \(multiple); using \(w)x\(h)") }
            (width, height) = (w, h)
        }
        return (width, height)
    }

    static func mediaType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "webp": return "image/webp"
        case "mp4", "m4v": return "video/mp4"
        default: return "application/octet-stream"
        }
    }

    /// The latents-only path: precomputed prompt embeddings in, latents out.
    func generateLatents() throws {
        guard let outputLatents else {
            throw EngineError("--prompt-embeds stops at latents: pass --output-latents FILE.safetensors (or give a text prompt for an MP4)")
        }
        let requestedSize = try size.map(Self.parseSize)
        let folder = try modelFolder()
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
            let (width, height) = try outputSize(multiple: 8 * transformer.config.patchSize[1])
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
