import Foundation
import MoviolaTensor

/// Progress of a denoising run, reported after every step.
public struct DenoisingProgress: Sendable {
    public let step: Int
    public let totalSteps: Int
    public let timestep: Float
    public let latents: Tensor
    /// The clean latents this step's prediction points at (x₀ = xₜ − σ·v for flow matching): what
    /// a preview should show, since `latents` still carry the remaining noise.
    public let predictedSample: Tensor
}

/// The denoising loop of `WanPipeline`: at each scheduler timestep the transformer predicts the
/// velocity for the prompt (and, with guidance > 1, for the negative prompt in a separate pass),
/// the two are combined by classifier-free guidance, and the scheduler advances the latents.
public struct WanDenoiser: Sendable {
    public let transformer: WanTransformer3DModel
    /// Wan 2.2 low-noise expert, used below `boundaryRatio · num_train_timesteps`.
    public let lowNoiseTransformer: WanTransformer3DModel?
    public let boundaryRatio: Double?

    public init(transformer: WanTransformer3DModel, lowNoiseTransformer: WanTransformer3DModel? = nil, boundaryRatio: Double? = nil) {
        self.transformer = transformer
        self.lowNoiseTransformer = lowNoiseTransformer
        self.boundaryRatio = boundaryRatio
    }

    /// Runs the loop.
    /// - Parameters:
    ///   - initialLatents: `[1, C, F, H, W]` standard-normal noise.
    ///   - promptEmbeds: `[1, L, text_dim]`.
    ///   - negativePromptEmbeds: required when `guidanceScale > 1`.
    ///   - firstFrame: Wan 2.2 TI2V first-frame conditioning: clean normalised latents
    ///     `[C, 1, H, W]` that replace latent frame 0 before every pass (at per-token timestep 0)
    ///     and in the result.
    public func denoise(
        initialLatents: Tensor, promptEmbeds: Tensor, negativePromptEmbeds: Tensor?,
        guidanceScale: Float, lowNoiseGuidanceScale: Float? = nil,
        firstFrame: Tensor? = nil,
        scheduler schedulerConfig: SchedulerConfig, steps: Int,
        compute: ComputeContext, progress: (DenoisingProgress) throws -> Void = { _ in }
    ) throws -> Tensor {
        let config = transformer.config
        guard initialLatents.rank == 5, initialLatents.shape[0] == 1, initialLatents.shape[1] == config.inChannels else {
            throw EngineError("initial latents must be [1, \(config.inChannels), F, H, W], got \(initialLatents.shape)")
        }
        guard promptEmbeds.rank == 3, promptEmbeds.shape[0] == 1, promptEmbeds.shape[2] == config.textDim else {
            throw EngineError("prompt embeddings must be [1, L, \(config.textDim)], got \(promptEmbeds.shape)")
        }
        let guided = guidanceScale > 1
        if guided {
            guard let negative = negativePromptEmbeds else {
                throw EngineError("guidance \(guidanceScale) > 1 needs negative prompt embeddings (or use guidance 1)")
            }
            guard negative.rank == 3, negative.shape[0] == 1, negative.shape[2] == config.textDim else {
                throw EngineError("negative prompt embeddings must be [1, L, \(config.textDim)], got \(negative.shape)")
            }
        }
        let (channels, frames, height, width) = (initialLatents.shape[1], initialLatents.shape[2], initialLatents.shape[3], initialLatents.shape[4])
        if let firstFrame {
            guard firstFrame.shape == [channels, 1, height, width] else {
                throw EngineError("first-frame latents must be [\(channels), 1, \(height), \(width)], got \(firstFrame.shape)")
            }
            guard config.patchSize[0] == 1 else { throw EngineError("first-frame conditioning needs a temporal patch size of 1") }
        }
        let frameTokens = (height / config.patchSize[1]) * (width / config.patchSize[2])
        let tokens = frames * frameTokens
        func withFirstFrame(_ latents: Tensor) -> Tensor {
            guard let firstFrame else { return latents }
            var out = latents
            let plane = height * width
            for c in 0..<channels {
                for i in 0..<plane { out.scalars[c * frames * plane + i] = firstFrame.scalars[c * plane + i] }
            }
            return out
        }
        var scheduler = try schedulerConfig.makeScheduler(steps: steps)
        let boundary = boundaryRatio.map { Float($0 * Double(schedulerConfig.numTrainTimesteps)) }
        let sample0 = initialLatents.slice(0)
        var latents = sample0
        // Text conditioning is projected once per prompt and expert, not once per step.
        let experts = [transformer] + (lowNoiseTransformer.map { [$0] } ?? [])
        let texts = try experts.map { try $0.prepareText(promptEmbeds.slice(0), compute: compute) }
        let negativeTexts = guided ? try experts.map { try $0.prepareText(negativePromptEmbeds!.slice(0), compute: compute) } : nil
        for (index, t) in scheduler.timesteps.enumerated() {
            var expert = 0
            var scale = guidanceScale
            if let boundary, lowNoiseTransformer != nil, t < boundary {
                expert = 1
                scale = lowNoiseGuidanceScale ?? guidanceScale
            }
            let model = experts[expert]
            let input = withFirstFrame(latents)
            let timestep: TransformerTimestep = firstFrame == nil
                ? .uniform(t)
                : .perToken((0..<tokens).map { $0 < frameTokens ? 0 : t })
            let conditional = try model.forward(input, timestep: timestep, text: texts[expert], compute: compute)
            var prediction = conditional
            if let negativeTexts {
                let unconditional = try model.forward(input, timestep: timestep, text: negativeTexts[expert], compute: compute)
                for i in 0..<prediction.count {
                    let u = unconditional.scalars[i]
                    prediction.scalars[i] = u + scale * (conditional.scalars[i] - u)
                }
            }
            var predicted = input
            let sigma = scheduler.sigmas[index]
            for i in 0..<predicted.count { predicted.scalars[i] -= sigma * prediction.scalars[i] }
            latents = scheduler.step(modelOutput: prediction, sample: latents)
            try progress(DenoisingProgress(step: index + 1, totalSteps: scheduler.timesteps.count, timestep: t, latents: latents,
                                       predictedSample: withFirstFrame(predicted)))
        }
        latents = withFirstFrame(latents)
        return latents.reshaped([1] + latents.shape)
    }
}
