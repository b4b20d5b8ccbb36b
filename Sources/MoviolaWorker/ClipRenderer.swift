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
    /// Peak amplitude of the file's watermark in 8-bit levels: the default, or higher where the content hid it.
    public var watermarkStrength: Float
    /// Whether the written file's watermark reads back as its content ID (false only if the strongest mark failed too).
    public var watermarkReadable: Bool
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
        let (fileWidth, fileHeight) = (settings.outputWidth, settings.outputHeight)
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
        // Generated frames at the model's size, kept so the file can be written again with a stronger
        // watermark if this clip's content hides the default one (a few small frames per clip).
        var generated: [RGBImage] = []
        var clip = try ClipFileWriter(settings: settings, marks: marks, strength: Watermark.defaultStrength, to: path)
        do {
            for frame in earlierClip { try clip.appendEarlier(frame) }
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
                        let image = RGBImage(width: chunk.width, height: chunk.height, unitFloats: frame)
                        generated.append(image)
                        try clip.appendGenerated(image)
                    }
                }
            })
            try clip.finish()
            var strength = Watermark.defaultStrength
            var readable = Self.watermarkReads(path: path, id: marks.contentID)
            // Busy or clipped content can drown the default amplitude; each retry writes the same frames with a stronger mark.
            for factor: Float in [2, 3] where !readable && min(fileWidth, fileHeight) >= 64 {
                strength = Watermark.defaultStrength * factor
                var again = try ClipFileWriter(settings: settings, marks: marks, strength: strength, to: path)
                for frame in earlierClip { try again.appendEarlier(frame) }
                for frame in generated { try again.appendGenerated(frame) }
                try again.finish()
                readable = Self.watermarkReads(path: path, id: marks.contentID)
            }
            return RenderResult(framesWritten: clip.framesWritten, framesSHA256: clip.framesSHA256,
                                watermarkStrength: strength, watermarkReadable: readable)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// Whether the file at `path` decodes to a watermark carrying `id`, as a verifier reading the file would find it.
    static func watermarkReads(path: String, id: UInt64) -> Bool {
        var detector = Watermark.Detector()
        guard (try? MediaReader.decode(path: path, { detector.add($0) })) != nil else { return false }
        return detector.detect(scales: [1])?.id == id
    }
}

/// Writes one clip file: earlier frames as they are, generated frames upscaled and blended to the
/// file's size and rate; every frame labelled and watermarked.
struct ClipFileWriter {
    let writer: MP4Writer
    let label: VisibleLabel?
    let watermark: Watermark.Embedder
    let upscaled: Bool
    var rateConverter: FrameRateConverter
    var frameIndex = 0
    var hash = SHA256()
    /// The first generated frame of an extension reproduces the earlier clip's last one; it is not repeated.
    var skipFirstGenerated = false
    let outputWidth: Int
    let outputHeight: Int

    init(settings: RenderSettings, marks: OutputMarks, strength: Float, to path: String) throws {
        (outputWidth, outputHeight) = (settings.outputWidth, settings.outputHeight)
        label = try marks.labelText.map { try VisibleLabel(text: $0, width: settings.outputWidth, height: settings.outputHeight,
                                                           framesPerSecond: settings.outputFPS) }
        watermark = Watermark.Embedder(width: settings.outputWidth, height: settings.outputHeight, id: marks.contentID, strength: strength)
        upscaled = (settings.outputWidth, settings.outputHeight) != (settings.width, settings.height)
        rateConverter = FrameRateConverter(from: settings.fps, to: settings.outputFPS)
        writer = try MP4Writer(path: path, width: settings.outputWidth, height: settings.outputHeight,
                               options: VideoEncodingOptions(framesPerSecond: settings.outputFPS, crf: settings.crf,
                                                             metadata: ["comment": marks.comment, "AIGC": marks.aigcJSON]))
    }

    var framesWritten: Int { writer.framesWritten }
    var framesSHA256: String { hash.finalize().map { String(format: "%02x", $0) }.joined() }

    /// A frame of the clip being extended (already at the file's size).
    mutating func appendEarlier(_ frame: RGBImage) throws {
        skipFirstGenerated = true
        try appendMarkedFrame(frame)
    }

    /// A frame the model generated, at the model's size and rate.
    mutating func appendGenerated(_ frame: RGBImage) throws {
        var image = frame
        if upscaled { image = image.resizedToFill(width: outputWidth, height: outputHeight) }
        var converted = rateConverter.push(image)
        if skipFirstGenerated, !converted.isEmpty { converted.removeFirst(); skipFirstGenerated = false }
        for frame in converted {
            hash.update(data: frame.pixels)
            try appendMarkedFrame(frame)
        }
    }

    private mutating func appendMarkedFrame(_ frame: RGBImage) throws {
        let labelled = label?.apply(to: frame, frameIndex: frameIndex) ?? frame
        frameIndex += 1
        try writer.append(watermark.apply(labelled))
    }

    func finish() throws { try writer.finish() }
}
