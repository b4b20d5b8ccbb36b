import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

@Suite struct DenoiserTests {
    func run(scheduler name: String, steps: Int, guidance: Float) throws -> Tensor {
        let folder = try PipelineFolder(path: Fixtures.path("tiny-wan-pipeline"))
        let denoiser = WanDenoiser(transformer: try folder.loadTransformer())
        let embeds = try Fixtures.tensors("tiny-wan-pipeline-embeds.safetensors")
        let noise = try Fixtures.tensors("tiny-wan-pipeline-noise.safetensors").tensor("latents")
        return try denoiser.denoise(
            initialLatents: noise, promptEmbeds: try embeds.tensor("prompt_embeds"),
            negativePromptEmbeds: guidance > 1 ? try embeds.tensor("negative_prompt_embeds") : nil,
            guidanceScale: guidance, scheduler: try folder.schedulerConfig().converted(to: name), steps: steps,
            compute: ComputeContext(threads: 2))
    }

    @Test(arguments: ["unipc", "euler"])
    func fourStepLoopWithGuidanceMatchesWanPipeline(scheduler: String) throws {
        let out = try run(scheduler: scheduler, steps: 4, guidance: 5)
        let expected = try Fixtures.tensors("tiny-wan-pipeline-expected.safetensors").tensor(scheduler)
        let error = out.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func loopWithoutGuidanceMatchesWanPipeline() throws {
        let out = try run(scheduler: "euler", steps: 3, guidance: 1)
        let expected = try Fixtures.tensors("tiny-wan-pipeline-expected.safetensors").tensor("euler_noguidance")
        #expect(out.relativeError(to: expected) <= 1e-4)
    }

    @Test func sameInputsGiveBitIdenticalLatents() throws {
        #expect(try run(scheduler: "unipc", steps: 4, guidance: 5) == run(scheduler: "unipc", steps: 4, guidance: 5))
    }

    @Test func guidanceWithoutNegativeEmbeddingsIsAClearError() throws {
        let folder = try PipelineFolder(path: Fixtures.path("tiny-wan-pipeline"))
        let denoiser = WanDenoiser(transformer: try folder.loadTransformer())
        let embeds = try Fixtures.tensors("tiny-wan-pipeline-embeds.safetensors")
        let noise = try Fixtures.tensors("tiny-wan-pipeline-noise.safetensors").tensor("latents")
        let error = #expect(throws: EngineError.self) {
            try denoiser.denoise(initialLatents: noise, promptEmbeds: try embeds.tensor("prompt_embeds"), negativePromptEmbeds: nil,
                                 guidanceScale: 5, scheduler: try folder.schedulerConfig(), steps: 2, compute: ComputeContext(threads: 1))
        }
        #expect(error?.message.contains("negative prompt embeddings") == true)
    }
}
