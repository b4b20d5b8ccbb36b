import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

@Suite struct TransformerParityTests {
    static let names = ["h2_l2_p122", "h4_l1_p222_nocrossnorm", "h3_l3_p111", "h2_l2_p122_per_token",
                        "h2_l2_p122_original_names", "long_sequence"]

    @Test(arguments: names)
    func forwardMatchesDiffusers(name: String) throws {
        let folder = Fixtures.path("transformer/\(name)")
        let model = try WanTransformer3DModel.load(directory: folder)
        let io = try Fixtures.tensors("transformer/\(name)/io.safetensors")
        let latents = try io.tensor("latents")
        let text = try io.tensor("encoder_hidden_states")
        let timestep = try io.tensor("timestep")
        let expected = try io.tensor("expected")
        let batch = latents.shape[0]
        let timesteps: [TransformerTimestep] = timestep.rank == 2
            ? (0..<batch).map { .perToken(timestep.slice($0).scalars) }
            : timestep.scalars.map { .uniform($0) }
        let out = try model(latents, timesteps: timesteps, encoderHiddenStates: text, context: ComputeContext(threads: 2))
        #expect(out.shape == expected.shape)
        let error = out.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func perTokenTimestepsDifferFromUniform() throws {
        // The first-frame mask must actually change the result (guards against ignoring per-token input).
        let folder = Fixtures.path("transformer/h2_l2_p122_per_token")
        let model = try WanTransformer3DModel.load(directory: folder)
        let io = try Fixtures.tensors("transformer/h2_l2_p122_per_token/io.safetensors")
        let latents = try io.tensor("latents").slice(0)
        let text = try io.tensor("encoder_hidden_states").slice(0)
        let ctx = ComputeContext(threads: 2)
        let uniform = try model.forward(latents, timestep: .uniform(812), context: text, compute: ctx)
        let perToken = try model.forward(latents, timestep: .perToken(try io.tensor("timestep").scalars), context: text, compute: ctx)
        let allSame = try model.forward(latents, timestep: .perToken([Float](repeating: 812, count: 48)), context: text, compute: ctx)
        #expect(uniform.relativeError(to: perToken) > 1e-3)
        #expect(uniform == allSame)
    }

    @Test func forwardIsBitIdenticalAcrossRuns() throws {
        let model = try WanTransformer3DModel.load(directory: Fixtures.path("transformer/long_sequence"))
        let io = try Fixtures.tensors("transformer/long_sequence/io.safetensors")
        let latents = try io.tensor("latents").slice(0)
        let text = try io.tensor("encoder_hidden_states").slice(0)
        let ctx = ComputeContext(threads: 2)
        let a = try model.forward(latents, timestep: .uniform(500), context: text, compute: ctx)
        let b = try model.forward(latents, timestep: .uniform(500), context: text, compute: ctx)
        #expect(a == b)
    }
}

@Suite struct TransformerLoadingErrorTests {
    @Test func wrongShapeInConfigNamesFileAndTensor() throws {
        let dir = scratchDirectory("wrong-shape")
        try copyFolder(Fixtures.path("transformer/h2_l2_p122"), to: dir + "/transformer")
        let configPath = dir + "/transformer/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["ffn_dim"] = 48
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let error = #expect(throws: EngineError.self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        let message = error?.message ?? ""
        #expect(message.contains("diffusion_pytorch_model.safetensors"))
        #expect(message.contains("ffn.net.0.proj.weight has shape [32, 24]"))
        #expect(message.contains("config.json implies [48, 24]"))
        #expect(!message.contains("\n"))
    }

    @Test func missingFilesAndBadJSONAreNamed() throws {
        let dir = scratchDirectory("missing")
        try copyFolder(Fixtures.path("transformer/h2_l2_p122"), to: dir + "/transformer")
        try FileManager.default.removeItem(atPath: dir + "/transformer/diffusion_pytorch_model.safetensors")
        try FileManager.default.removeItem(atPath: dir + "/transformer/io.safetensors")
        var error = #expect(throws: (any Error).self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        #expect("\(error!)".contains("no .safetensors weights found"))

        try "{\"num_layers\": \"two\"}".write(toFile: dir + "/transformer/config.json", atomically: true, encoding: .utf8)
        error = #expect(throws: (any Error).self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        #expect("\(error!)".contains("config.json: num_layers should be an integer"))

        try FileManager.default.removeItem(atPath: dir + "/transformer/config.json")
        error = #expect(throws: (any Error).self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        #expect("\(error!)".contains("config.json: file not found"))
    }

    @Test func truncatedWeightsAreReported() throws {
        let dir = scratchDirectory("truncated")
        try copyFolder(Fixtures.path("transformer/h2_l2_p122"), to: dir + "/transformer")
        let weights = dir + "/transformer/diffusion_pytorch_model.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: weights))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: weights))
        let error = #expect(throws: (any Error).self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        #expect("\(error!)".hasPrefix(weights + ": truncated"))
    }

    @Test func imageCrossAttentionIsRefusedClearly() throws {
        let dir = scratchDirectory("i2v")
        try copyFolder(Fixtures.path("transformer/h2_l2_p122"), to: dir + "/transformer")
        let configPath = dir + "/transformer/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["added_kv_proj_dim"] = 24
        config["image_dim"] = 32
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let error = #expect(throws: EngineError.self) { try WanTransformer3DModel.load(directory: dir + "/transformer") }
        #expect(error?.message.contains("not supported yet") == true)
    }
}
