import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

@Suite struct VAEParityTests {
    static let names = ["base8_z4", "base4_z6_t2"]

    @Test(arguments: names)
    func decodeMatchesDiffusers(name: String) throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/\(name)"))
        let io = try Fixtures.tensors("vae/\(name)/io.safetensors")
        let latents = try io.tensor("latents").slice(0)
        let expected = try io.tensor("decoded").slice(0)  // [3, F, H, W]
        let decoded = try vae.decode(latents, context: ComputeContext(threads: 2)).channelsFirst
        #expect(decoded.shape == expected.shape)
        let error = decoded.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test(arguments: names)
    func encodeMatchesDiffusers(name: String) throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/\(name)"))
        let io = try Fixtures.tensors("vae/\(name)/io.safetensors")
        let video = try io.tensor("video").slice(0)
        let expected = try io.tensor("encoded").slice(0)
        let encoded = try vae.encode(video, context: ComputeContext(threads: 2))
        #expect(encoded.shape == expected.shape)
        let error = encoded.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func decodingStreamsOneLatentFrameAtATime() throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/base8_z4"))
        let latents = try Fixtures.tensors("vae/base8_z4/io.safetensors").tensor("latents").slice(0)
        var chunkSizes: [Int] = []
        try vae.decode(latents, context: ComputeContext(threads: 1)) { chunkSizes.append($0.count) }
        #expect(chunkSizes == [1, 4, 4])
    }

    @Test func normalizationRoundTrips() throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/base8_z4"))
        let z = GaussianNoise(seed: 5).tensor(shape: [4, 2, 3, 3])
        #expect(vae.normalize(vae.denormalize(z)).maxAbsDifference(z) < 1e-5)
    }
}

@Suite struct VAETilingTests {
    @Test func tiledDecodeMatchesDiffusersTiledDecode() throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/base8_z4"))
        let io = try Fixtures.tensors("vae/base8_z4/io.safetensors")
        let latents = try io.tensor("tiled_latents").slice(0)
        let expected = try io.tensor("tiled_decoded").slice(0)
        var frames: Frames?
        try vae.decodeTiled(latents, tile: 32, stride: 24, context: ComputeContext(threads: 2)) { chunk in
            frames = frames.map { $0.appending(chunk) } ?? chunk
        }
        let decoded = frames!.channelsFirst
        #expect(decoded.shape == expected.shape)
        let error = decoded.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func badTileSizesAreRefused() throws {
        let vae = try WanVAE.load(directory: Fixtures.path("vae/base8_z4"))
        let latents = GaussianNoise(seed: 1).tensor(shape: [4, 1, 4, 4])
        #expect(throws: EngineError.self) { try vae.decodeTiled(latents, tile: 30, stride: 24, context: ComputeContext(threads: 1)) { _ in } }
    }
}
