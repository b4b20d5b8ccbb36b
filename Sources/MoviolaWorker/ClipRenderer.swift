import Crypto
import Foundation
import MoviolaEngine
import MoviolaMedia
import MoviolaTensor

/// Everything that decides a clip's pixels: the same settings, model and build give the same frames.
public struct RenderSettings: Codable, Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String
    public var seed: UInt64
    public var steps: Int
    public var guidance: Float
    /// `euler` or `unipc`; nil uses the model's scheduler.
    public var scheduler: String?
    /// Frames the model generates (4k+1) at `width`×`height` and `fps`.
    public var frames: Int
    public var width: Int
    public var height: Int
    public var fps: Int
    /// The file's size and rate (frames are upscaled and blended to them).
    public var outputWidth: Int
    public var outputHeight: Int
    public var outputFPS: Int
    public var crf: Int
    public var vaeTile: Int?

    public init(prompt: String, negativePrompt: String = "", seed: UInt64, steps: Int, guidance: Float, scheduler: String? = nil,
                frames: Int, width: Int, height: Int, fps: Int, outputWidth: Int, outputHeight: Int, outputFPS: Int,
                crf: Int = 18, vaeTile: Int? = nil) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.steps = steps
        self.guidance = guidance
        self.scheduler = scheduler
        self.frames = frames
        self.width = width
        self.height = height
        self.fps = fps
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
        self.outputFPS = outputFPS
        self.crf = crf
        self.vaeTile = vaeTile
    }
}

/// The marks every output carries, decided by the control plane: the watermark payload, the
/// signed AIGC JSON for the file's metadata, and the burned-in label (nil when the operator turned it off).
public struct OutputMarks: Codable, Sendable, Equatable {
    public var contentID: UInt64
    public var aigcJSON: String
    public var labelText: String?
    public var comment: String

    public init(contentID: UInt64, aigcJSON: String, labelText: String?, comment: String) {
        self.contentID = contentID
        self.aigcJSON = aigcJSON
        self.labelText = labelText
        self.comment = comment
    }
}

/// What rendering reports as it goes.
public enum RenderEvent: Sendable {
    case encodingText
    case denoising(step: Int, of: Int)
    /// A small JPEG of the clip as it forms.
    case preview(step: Int, of: Int, jpeg: Data)
    case decoding(framesDone: Int, of: Int)
}

/// What a finished render wrote.
public struct RenderResult: Sendable {
    public var framesWritten: Int
    /// SHA-256 of the generated 8-bit frames at the file's size and rate, before the label and
    /// watermark: equal for equal settings, model and build, whatever the ProduceID.
    public var framesSHA256: String
}

/// Turns settings into a finished MP4: the pipeline generates, frames are upscaled and blended to the
/// output size and rate, the visible label and the watermark are applied, and H.264 with the AIGC
/// metadata is written. The C2PA manifest is signed afterwards, by whoever holds the keys.
public struct ClipRenderer: Sendable {
    public let pipeline: WanPipeline

    public init(pipeline: WanPipeline) {
        self.pipeline = pipeline
    }

    /// Longest side of preview JPEGs.
    public static let previewSide = 160

    /// Renders to `path` (removed again if anything fails).
    /// - Parameters:
    ///   - firstFrame: image-to-video: fitted to the generation size (cover and centre crop).
    ///   - earlierClip: extension: these frames come first, and the new ones continue from the last.
    ///   - previewEvery: send a `.preview` every this many steps (nil: none).
    ///   - initialNoise: replaces the seeded noise (`[1, C, T, H, W]`), for replaying other implementations' runs.
    ///   - rawFrames: receives the generated frames as the pipeline emits them.
    ///   - events: progress; throwing from it (e.g. `CancellationError`) stops the render.
    public func render(
        _ settings: RenderSettings, marks: OutputMarks, firstFrame: RGBImage? = nil, earlierClip: [RGBImage] = [],
        to path: String, compute: ComputeContext, previewEvery: Int? = nil, initialNoise: Tensor? = nil,
        rawFrames: ((Frames) -> Void)? = nil, events: (RenderEvent) throws -> Void = { _ in }
    ) throws -> RenderResult {
        let (width, height) = (settings.width, settings.height)
        let (fileWidth, fileHeight, fileFPS) = (settings.outputWidth, settings.outputHeight, settings.outputFPS)
        var request = GenerationRequest(prompt: settings.prompt, negativePrompt: settings.negativePrompt, frames: settings.frames,
                                        width: width, height: height, steps: settings.steps, guidanceScale: settings.guidance,
                                        seed: settings.seed, scheduler: settings.scheduler)
        request.vaeTile = settings.vaeTile
        request.initialNoise = initialNoise
        request.previewEvery = previewEvery
        if let image = firstFrame {
            let fitted = image.resizedToFill(width: width, height: height)
            var tensor = Tensor(zeros: [3, height, width])
            for i in 0..<(width * height) {
                for c in 0..<3 { tensor.scalars[c * width * height + i] = Float(fitted.pixels[i * 3 + c]) / 255 * 2 - 1 }
            }
            request.firstFrame = tensor
        }
        let label = try marks.labelText.map { try VisibleLabel(text: $0, width: fileWidth, height: fileHeight, framesPerSecond: fileFPS) }
        let watermark = Watermark.Embedder(width: fileWidth, height: fileHeight, id: marks.contentID)
        var frameIndex = 0
        var hash = SHA256()
        func mark(_ frame: RGBImage) -> RGBImage {
            defer { frameIndex += 1 }
            let labelled = label?.apply(to: frame, frameIndex: frameIndex) ?? frame
            return watermark.apply(labelled)
        }
        let writer = try MP4Writer(path: path, width: fileWidth, height: fileHeight,
                                   options: VideoEncodingOptions(framesPerSecond: fileFPS, crf: settings.crf,
                                                                 metadata: ["comment": marks.comment, "AIGC": marks.aigcJSON]))
        do {
            for frame in earlierClip { try writer.append(mark(frame)) }
            // The first generated frame reproduces the earlier clip's last one; it is not repeated.
            var skipFirstGenerated = !earlierClip.isEmpty
            var rateConverter = FrameRateConverter(from: settings.fps, to: fileFPS)
            let upscaled = (fileWidth, fileHeight) != (width, height)
            try pipeline.generate(request, compute: compute, progress: { stage in
                switch stage {
                case .encodingText: try events(.encodingText)
                case .denoising(let step, let total): try events(.denoising(step: step, of: total))
                case .decoding(let done, let total): try events(.decoding(framesDone: done, of: total))
                case .preview(let step, let total, let frame):
                    let image = frame.data.withUnsafeBufferPointer { RGBImage(width: frame.width, height: frame.height, unitFloats: $0) }
                    let long = Double(max(fileWidth, fileHeight))
                    let preview = image.resizedToFill(width: max(2, Int(Double(fileWidth) / long * Double(Self.previewSide))),
                                                      height: max(2, Int(Double(fileHeight) / long * Double(Self.previewSide))))
                    try events(.preview(step: step, of: total, jpeg: try JPEGEncoder.encode(preview)))
                }
            }, onFrames: { chunk in
                rawFrames?(chunk)
                let size = chunk.height * chunk.width * 3
                try chunk.data.withUnsafeBufferPointer { buffer in
                    for f in 0..<chunk.count {
                        let frame = UnsafeBufferPointer(rebasing: buffer[(f * size)..<((f + 1) * size)])
                        var image = RGBImage(width: chunk.width, height: chunk.height, unitFloats: frame)
                        if upscaled { image = image.resizedToFill(width: fileWidth, height: fileHeight) }
                        var converted = rateConverter.push(image)
                        if skipFirstGenerated { converted.removeFirst(); skipFirstGenerated = false }
                        for frame in converted {
                            hash.update(data: frame.pixels)
                            try writer.append(mark(frame))
                        }
                    }
                }
            })
            try writer.finish()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        return RenderResult(framesWritten: writer.framesWritten,
                            framesSHA256: hash.finalize().map { String(format: "%02x", $0) }.joined())
    }
}
