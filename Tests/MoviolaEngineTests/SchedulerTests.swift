import Foundation
import Testing
@testable import MoviolaEngine
import MoviolaTensor

struct ScheduleCase: Decodable, CustomTestStringConvertible {
    let name: String
    let steps: Int
    let sigmas: [Double]
    let timesteps: [Double]
    let config: SchedulerConfig
    var testDescription: String { name }

    static func all() throws -> [ScheduleCase] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("schedulers/schedules.json")))
        return try JSONDecoder().decode([ScheduleCase].self, from: data)
    }
}

@Suite struct SchedulerTests {
    @Test(arguments: try ScheduleCase.all())
    func sigmasAndTimestepsAreExact(_ c: ScheduleCase) throws {
        try c.config.validate()
        let scheduler = try c.config.makeScheduler(steps: c.steps)
        #expect(scheduler.sigmas == c.sigmas.map { Float($0) })
        #expect(scheduler.timesteps == c.timesteps.map { Float($0) })
    }

    @Test(arguments: try ScheduleCase.all())
    func stepsFollowDiffusersTrajectory(_ c: ScheduleCase) throws {
        var scheduler = try c.config.makeScheduler(steps: c.steps)
        let file = try Fixtures.tensors("schedulers/trajectories.safetensors")
        let outputs = try file.tensor(c.name + ".outputs")
        let samples = try file.tensor(c.name + ".samples")
        var sample = samples.slice(0)
        for i in 0..<c.steps {
            sample = scheduler.step(modelOutput: outputs.slice(i), sample: sample)
            let error = sample.relativeError(to: samples.slice(i + 1))
            #expect(error <= 1e-5, "step \(i): relative error \(error)")
        }
    }

    @Test func unsupportedOptionsAreRejected() throws {
        let json = #"{"_class_name": "FlowMatchEulerDiscreteScheduler", "use_karras_sigmas": true}"#
        let config = try JSONDecoder().decode(SchedulerConfig.self, from: Data(json.utf8))
        #expect(throws: EngineError.self) { try config.validate() }
        let ddim = try JSONDecoder().decode(SchedulerConfig.self, from: Data(#"{"_class_name": "DDIMScheduler"}"#.utf8))
        #expect(throws: EngineError.self) { try ddim.validate() }
    }
}
