import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

/// PSNR in dB between two tensors of values in [0, 1].
func psnr(_ a: Tensor, _ b: Tensor) -> Double {
    var mse = 0.0
    for i in 0..<a.count { let d = Double(a.scalars[i]) - Double(b.scalars[i]); mse += d * d }
    mse /= Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(1 / mse)
}

@Suite struct PipelineParityTests {
    static let pipeline = try! WanPipeline(folder: PipelineFolder(path: Fixtures.path("tiny-wan-t2v")))

    func run(_ request: GenerationRequest) throws -> Tensor {
        var frames: Frames?
        try Self.pipeline.generate(request, compute: ComputeContext(threads: 2)) { chunk in
            frames = frames.map { $0.appending(chunk) } ?? chunk
        }
        let f = frames!
        return Tensor(shape: [f.count, f.height, f.width, f.channels], scalars: f.data)
    }

    func request(scheduler: String) throws -> GenerationRequest {
        let noise = try Fixtures.tensors("tiny-wan-t2v-expected.safetensors").tensor("noise")
        return GenerationRequest(prompt: "a red ball bounces", frames: 9, width: 32, height: 16, steps: 3, guidanceScale: 5,
                                 initialNoise: noise, scheduler: scheduler)
    }

    @Test(arguments: ["unipc", "euler"])
    func textToVideoMatchesWanPipeline(scheduler: String) throws {
        let frames = try run(try request(scheduler: scheduler))
        let expected = try Fixtures.tensors("tiny-wan-t2v-expected.safetensors").tensor("t2v_" + scheduler)
        #expect(frames.shape == expected.shape)
        let quality = psnr(frames, expected)
        #expect(quality >= 50, "PSNR \(quality) dB")
    }

    @Test(arguments: ["unipc", "euler"])
    func firstFrameImageToVideoMatchesWanImageToVideoPipeline(scheduler: String) throws {
        let image = try Fixtures.tensors("tiny-wan-t2v-expected.safetensors").tensor("i2v_" + scheduler)
        var request = try request(scheduler: scheduler)
        request.firstFrame = try FirstFrameFixture.load()
        let frames = try run(request)
        let quality = psnr(frames, image)
        #expect(quality >= 50, "PSNR \(quality) dB")
    }

    @Test func promptsAreCleanedLikeDiffusers() {
        #expect(WanPipeline.cleanPrompt("  a  red\tball &amp;amp; &lt;b&gt;  ") == "a red ball & <b>")
        #expect(WanPipeline.cleanPrompt("") == "")
    }

    @Test func promptEmbeddingsArePaddedToTheFullLength() throws {
        let embeds = try Self.pipeline.encodePrompt("a red ball", compute: ComputeContext(threads: 1))
        #expect(embeds.shape == [1, 512, 16])
        let tokens = Self.pipeline.tokenizer.encode("a red ball").count
        #expect(embeds.scalars[(tokens * 16)...].allSatisfy { $0 == 0 })
        #expect(embeds.scalars[0..<(tokens * 16)].contains { $0 != 0 })
    }

    @Test func theModelCardSetsTheTextLengthTheTransformerWasTrainedWith() throws {
        let folder = scratchDirectory("short-text") + "/model"
        try copyFolder(Fixtures.path("tiny-wan-t2v"), to: folder)
        try #"{"max_sequence_length": 24}"#.write(toFile: folder + "/moviola.json", atomically: true, encoding: .utf8)
        let pipeline = try WanPipeline(folder: PipelineFolder(path: folder))
        #expect(pipeline.maxSequenceLength == 24)
        let embeds = try pipeline.encodePrompt("a red ball", compute: ComputeContext(threads: 1))
        #expect(embeds.shape == [1, 24, 16])
        let full = try Self.pipeline.encodePrompt("a red ball", compute: ComputeContext(threads: 1))
        #expect(Array(embeds.scalars) == Array(full.scalars.prefix(24 * 16)))
        #expect(try WanPipeline(folder: PipelineFolder(path: folder), maxSequenceLength: 40).maxSequenceLength == 40)

        try #"{"max_sequence_length": 0}"#.write(toFile: folder + "/moviola.json", atomically: true, encoding: .utf8)
        #expect(throws: EngineError.self) { try WanPipeline(folder: PipelineFolder(path: folder)) }
    }
}

/// The first-frame PNG as a `[3, H, W]` tensor in [−1, 1], decoded without FFmpeg (a tiny
/// uncompressed reading of PIL's output would need zlib, so the image is rebuilt from the same
/// formula the fixture script used).
enum FirstFrameFixture {
    static func load() throws -> Tensor {
        let (w, h) = (32, 16)
        var out = Tensor(zeros: [3, h, w])
        for y in 0..<h {
            for x in 0..<w {
                let gx = Double(x) * 255 / Double(w - 1), gy = 255 - Double(y) * 255 / Double(h - 1)
                let v = Double(UInt8((gx + gy) / 2))
                let rgb = [v, 255 - v, 90]
                for c in 0..<3 { out.scalars[(c * h + y) * w + x] = Float(rgb[c]) / 255 * 2 - 1 }
            }
        }
        return out
    }
}
