import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

@Suite struct UMT5ParityTests {
    @Test(arguments: ["d32_l2_h4", "d24_l3_h3_b16"])
    func hiddenStatesMatchTransformers(name: String) throws {
        let encoder = try UMT5Encoder.load(directory: Fixtures.path("text_encoder/\(name)"))
        let io = try Fixtures.tensors("text_encoder/\(name)/io.safetensors")
        let ids = try io.tensor("input_ids").scalars.map { Int($0) }
        let expected = try io.tensor("hidden_states").slice(0)
        let hidden = try encoder.encode(ids, context: ComputeContext(threads: 2))
        #expect(hidden.shape == expected.shape)
        let error = hidden.relativeError(to: expected)
        #expect(error <= 1e-4, "relative error \(error)")
    }

    @Test func relativePositionBucketsFollowT5() {
        // Bidirectional, 32 buckets, max distance 128: exact below 8, logarithmic above, keys after the query in the upper half.
        let b = { UMT5Encoder.bucket($0, buckets: 32, maxDistance: 128) }
        #expect(b(0) == 0)
        #expect(b(-3) == 3)
        #expect(b(3) == 19)
        #expect(b(-8) == 8)
        #expect(b(-127) == 15)
        #expect(b(-1000) == 15)
        #expect(b(1000) == 31)
    }

    @Test func outOfVocabularyIdsAreRejected() throws {
        let encoder = try UMT5Encoder.load(directory: Fixtures.path("text_encoder/d32_l2_h4"))
        #expect(throws: EngineError.self) { try encoder.encode([5, 100], context: ComputeContext(threads: 1)) }
    }
}
