import Foundation

/// `scheduler/scheduler_config.json` for the two flow schedulers Wan checkpoints use.
/// Options that would change the schedule in ways not implemented are rejected, not ignored.
public struct SchedulerConfig: Decodable, Sendable, Equatable {
    /// `FlowMatchEulerDiscreteScheduler` or `UniPCMultistepScheduler`.
    public var className: String
    public var numTrainTimesteps: Int
    /// Euler's `shift`.
    public var shift: Double
    /// UniPC's `flow_shift`.
    public var flowShift: Double
    public var shiftTerminal: Double?
    public var solverOrder: Int
    public var solverType: String
    public var lowerOrderFinal: Bool
    public var finalSigmasType: String
    public var disableCorrector: [Int]
    var predictionType: String
    var predictX0: Bool
    var useFlowSigmas: Bool
    var unsupported: [String]

    enum CodingKeys: String, CodingKey {
        case className = "_class_name", numTrainTimesteps = "num_train_timesteps", shift, flowShift = "flow_shift"
        case shiftTerminal = "shift_terminal", solverOrder = "solver_order", solverType = "solver_type"
        case lowerOrderFinal = "lower_order_final", finalSigmasType = "final_sigmas_type", disableCorrector = "disable_corrector"
        case predictionType = "prediction_type", predictX0 = "predict_x0", useFlowSigmas = "use_flow_sigmas"
        case useDynamicShifting = "use_dynamic_shifting", useKarras = "use_karras_sigmas", useExponential = "use_exponential_sigmas"
        case useBeta = "use_beta_sigmas", invertSigmas = "invert_sigmas", stochastic = "stochastic_sampling", thresholding
        case solverP = "solver_p"
    }

    /// The default configuration of a scheduler class.
    public init(className: String, shift: Double = 1) {
        self.className = className
        numTrainTimesteps = 1000
        self.shift = shift
        flowShift = shift
        shiftTerminal = nil
        solverOrder = 2
        solverType = "bh2"
        lowerOrderFinal = true
        finalSigmasType = "zero"
        disableCorrector = []
        predictionType = className == "UniPCMultistepScheduler" ? "flow_prediction" : "flow_prediction"
        predictX0 = true
        useFlowSigmas = true
        unsupported = []
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        className = try c.value(.className, default: "FlowMatchEulerDiscreteScheduler")
        numTrainTimesteps = try c.value(.numTrainTimesteps, default: 1000)
        shift = try c.value(.shift, default: 1.0)
        flowShift = try c.value(.flowShift, default: 1.0)
        shiftTerminal = try c.decodeIfPresent(Double.self, forKey: .shiftTerminal)
        solverOrder = try c.value(.solverOrder, default: 2)
        solverType = try c.value(.solverType, default: "bh2")
        lowerOrderFinal = try c.value(.lowerOrderFinal, default: true)
        finalSigmasType = try c.value(.finalSigmasType, default: "zero")
        disableCorrector = try c.value(.disableCorrector, default: [])
        predictionType = try c.value(.predictionType, default: className == "UniPCMultistepScheduler" ? "epsilon" : "flow_prediction")
        predictX0 = try c.value(.predictX0, default: true)
        useFlowSigmas = try c.value(.useFlowSigmas, default: false)
        var unsupported: [String] = []
        for (key, name) in [(CodingKeys.useDynamicShifting, "use_dynamic_shifting"), (.useKarras, "use_karras_sigmas"),
                            (.useExponential, "use_exponential_sigmas"), (.useBeta, "use_beta_sigmas"),
                            (.invertSigmas, "invert_sigmas"), (.stochastic, "stochastic_sampling"), (.thresholding, "thresholding")] {
            if (try? c.decodeIfPresent(Bool.self, forKey: key)) == true { unsupported.append(name) }
        }
        if c.contains(.solverP), (try? c.decodeNil(forKey: .solverP)) == false { unsupported.append("solver_p") }
        self.unsupported = unsupported
    }

    /// Reads and validates `scheduler_config.json`.
    public static func load(path: String) throws -> SchedulerConfig {
        let config = try JSONConfig.load(SchedulerConfig.self, from: path)
        do { try config.validate() } catch let error as EngineError { throw EngineError("\(path): \(error.message)") }
        return config
    }

    public func validate() throws {
        guard ["FlowMatchEulerDiscreteScheduler", "UniPCMultistepScheduler"].contains(className) else {
            throw EngineError("scheduler \(className) is not supported (FlowMatchEulerDiscreteScheduler or UniPCMultistepScheduler)")
        }
        if !unsupported.isEmpty {
            throw EngineError("scheduler option \(unsupported.joined(separator: ", ")) is not supported yet")
        }
        guard numTrainTimesteps >= 2 else { throw EngineError("num_train_timesteps must be at least 2") }
        if className == "UniPCMultistepScheduler" {
            guard useFlowSigmas, predictionType == "flow_prediction" else {
                throw EngineError("UniPC is supported with flow sigmas only (use_flow_sigmas true, prediction_type flow_prediction), as Wan checkpoints use it")
            }
            guard predictX0 else { throw EngineError("UniPC with predict_x0 false is not supported") }
            guard ["bh1", "bh2"].contains(solverType) else { throw EngineError("solver_type \(solverType) is not supported (bh1 or bh2)") }
            guard (1...3).contains(solverOrder) else { throw EngineError("solver_order must be 1, 2 or 3, got \(solverOrder)") }
            guard ["zero", "sigma_min"].contains(finalSigmasType) else {
                throw EngineError("final_sigmas_type \(finalSigmasType) is not supported (zero or sigma_min)")
            }
        } else if predictionType != "flow_prediction" {
            throw EngineError("FlowMatchEulerDiscreteScheduler needs prediction_type flow_prediction")
        }
    }

    /// A scheduler of this configuration set up for `steps` steps.
    public func makeScheduler(steps: Int) throws -> any FlowScheduler {
        className == "UniPCMultistepScheduler"
            ? try UniPCMultistepScheduler(config: self, steps: steps)
            : try FlowMatchEulerScheduler(config: self, steps: steps)
    }

    /// The same schedule under the other scheduler class (`--scheduler euler|unipc`): the shift
    /// carries over, so the noise levels visited stay comparable.
    public func converted(to name: String) throws -> SchedulerConfig {
        switch name {
        case "euler":
            if className == "FlowMatchEulerDiscreteScheduler" { return self }
            var c = SchedulerConfig(className: "FlowMatchEulerDiscreteScheduler", shift: flowShift)
            c.numTrainTimesteps = numTrainTimesteps
            c.shiftTerminal = shiftTerminal
            return c
        case "unipc":
            if className == "UniPCMultistepScheduler" { return self }
            var c = SchedulerConfig(className: "UniPCMultistepScheduler", shift: shift)
            c.numTrainTimesteps = numTrainTimesteps
            c.shiftTerminal = shiftTerminal
            return c
        default:
            throw EngineError("unknown scheduler \(name) (euler or unipc)")
        }
    }
}
