import Foundation
import MoviolaTensor

/// A flow-matching sampler: it lists the timesteps the model is evaluated at and advances the
/// sample by one step given the model's velocity prediction.
public protocol FlowScheduler: Sendable {
    /// Timestep passed to the transformer at each step.
    var timesteps: [Float] { get }
    /// Noise level at each step, plus the final level (one more entry than `timesteps`).
    var sigmas: [Float] { get }
    /// Advances `sample` from step `stepIndex` to the next, given the velocity `modelOutput`.
    mutating func step(modelOutput: Tensor, sample: Tensor) -> Tensor
}

/// `np.linspace(start, stop, count)` as NumPy computes it (`i·step + start`, exact endpoint).
func numpyLinspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (stop - start) / Double(count - 1)
    var values = (0..<count).map { Double($0) * step + start }
    values[count - 1] = stop
    return values
}

/// diffusers' `stretch_shift_to_terminal`: rescales a schedule so it ends at `terminal`.
func stretchToTerminal(_ sigmas: [Double], terminal: Double) -> [Double] {
    let oneMinus = sigmas.map { 1 - $0 }
    let scale = oneMinus.last! / (1 - terminal)
    return oneMinus.map { 1 - $0 / scale }
}

/// `FlowMatchEulerDiscreteScheduler` (deterministic, static shift), matching diffusers exactly.
public struct FlowMatchEulerScheduler: FlowScheduler {
    public let timesteps: [Float]
    public let sigmas: [Float]
    public private(set) var stepIndex = 0

    public init(config: SchedulerConfig, steps: Int) throws {
        guard steps >= 1 else { throw EngineError("number of steps must be at least 1, got \(steps)") }
        let trainSteps = config.numTrainTimesteps
        let shift = Float(config.shift)
        // __init__: shifted float32 sigmas over the training schedule give sigma_max / sigma_min.
        func shifted(_ s: Float) -> Float { shift * s / (1 + Float(config.shift - 1) * s) }
        let sigmaMax = Double(shifted(Float(trainSteps) / Float(trainSteps)))
        let sigmaMin = Double(shifted(Float(1) / Float(trainSteps)))
        // set_timesteps: float64 linspace over t, shifted again in float64, then cast to float32.
        let t = numpyLinspace(sigmaMax * Double(trainSteps), sigmaMin * Double(trainSteps), steps)
        var s = t.map { $0 / Double(trainSteps) }
        s = s.map { config.shift * $0 / (1 + (config.shift - 1) * $0) }
        if let terminal = config.shiftTerminal { s = stretchToTerminal(s, terminal: terminal) }
        let sigmas32 = s.map { Float($0) }
        timesteps = sigmas32.map { $0 * Float(trainSteps) }
        sigmas = sigmas32 + [0]
    }

    public mutating func step(modelOutput: Tensor, sample: Tensor) -> Tensor {
        let dt = sigmas[stepIndex + 1] - sigmas[stepIndex]
        var out = sample
        for i in 0..<out.count { out.scalars[i] = sample.scalars[i] + dt * modelOutput.scalars[i] }
        stepIndex += 1
        return out
    }
}

/// `UniPCMultistepScheduler` with flow sigmas and data (x₀) prediction, as Wan checkpoints ship
/// it: UniP-B(h) predictor and UniC corrector, `bh1` or `bh2`, any solver order, lower-order
/// warm-up and final steps. Scalars are float32 like diffusers' 0-dim tensors.
public struct UniPCMultistepScheduler: FlowScheduler {
    public let timesteps: [Float]
    public let sigmas: [Float]
    public let config: SchedulerConfig
    public private(set) var stepIndex = 0
    private var modelOutputs: [Tensor?]
    private var lowerOrderCount = 0
    private var lastSample: Tensor?
    private var thisOrder = 1

    public init(config: SchedulerConfig, steps: Int) throws {
        guard steps >= 1 else { throw EngineError("number of steps must be at least 1, got \(steps)") }
        self.config = config
        let trainSteps = Double(config.numTrainTimesteps)
        var s = Array(numpyLinspace(1, 1 / trainSteps, steps + 1).dropLast())
        s = s.map { config.flowShift * $0 / (1 + (config.flowShift - 1) * $0) }
        if let terminal = config.shiftTerminal { s = stretchToTerminal(s, terminal: terminal) }
        if abs(s[0] - 1) < 1e-6 { s[0] -= 1e-6 }
        // int64 cast truncates toward zero.
        timesteps = s.map { Float(Int64($0 * trainSteps)) }
        let last: Double = config.finalSigmasType == "sigma_min" ? s.last! : 0
        sigmas = (s + [last]).map { Float($0) }
        modelOutputs = Array(repeating: nil, count: config.solverOrder)
    }

    private func alphaSigma(_ sigma: Float) -> (Float, Float) { (1 - sigma, sigma) }
    private func lambda(_ sigma: Float) -> Float {
        let (a, s) = alphaSigma(sigma)
        return Foundation.log(a) - Foundation.log(s)
    }

    /// The `R` matrix rows and `b` vector of the B(h) update, and the quantities around them.
    private func coefficients(h: Float, order: Int, rks: [Float]) -> (hPhi1: Float, bh: Float, r: [[Float]], b: [Float]) {
        let hh = -h
        let hPhi1 = Foundation.expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        var factorial: Float = 1
        let bh: Float = config.solverType == "bh1" ? hh : Foundation.expm1(hh)
        var r: [[Float]] = []
        var b: [Float] = []
        for i in 1...order {
            r.append(rks.map { Foundation.pow($0, Float(i - 1)) })
            b.append(hPhiK * factorial / bh)
            factorial *= Float(i + 1)
            hPhiK = hPhiK / hh - 1 / factorial
        }
        return (hPhi1, bh, r, b)
    }

    public mutating func step(modelOutput: Tensor, sample input: Tensor) -> Tensor {
        var sample = input
        let useCorrector = stepIndex > 0 && !config.disableCorrector.contains(stepIndex - 1) && lastSample != nil
        // Flow prediction → x₀.
        let sigmaNow = sigmas[stepIndex]
        var converted = sample
        for i in 0..<converted.count { converted.scalars[i] = sample.scalars[i] - sigmaNow * modelOutput.scalars[i] }

        if useCorrector, let last = lastSample {
            sample = correct(modelT: converted, lastSample: last, thisSample: sample, order: thisOrder)
        }
        for i in 0..<(config.solverOrder - 1) { modelOutputs[i] = modelOutputs[i + 1] }
        modelOutputs[config.solverOrder - 1] = converted

        var order = config.solverOrder
        if config.lowerOrderFinal { order = min(order, timesteps.count - stepIndex) }
        thisOrder = min(order, lowerOrderCount + 1)
        lastSample = sample
        let next = predict(sample: sample, order: thisOrder)
        if lowerOrderCount < config.solverOrder { lowerOrderCount += 1 }
        stepIndex += 1
        return next
    }

    private func predict(sample x: Tensor, order: Int) -> Tensor {
        let m0 = modelOutputs[config.solverOrder - 1]!
        let (alphaT, sigmaT) = alphaSigma(sigmas[stepIndex + 1])
        let (_, sigmaS0) = alphaSigma(sigmas[stepIndex])
        let lambdaS0 = lambda(sigmas[stepIndex])
        let h = lambda(sigmas[stepIndex + 1]) - lambdaS0
        var rks: [Float] = []
        var d1s: [Tensor] = []
        for i in 1..<max(order, 1) {
            let mi = modelOutputs[config.solverOrder - 1 - i]!
            let rk = (lambda(sigmas[stepIndex - i]) - lambdaS0) / h
            rks.append(rk)
            d1s.append(Self.difference(mi, m0, dividedBy: rk))
        }
        rks.append(1)
        let (hPhi1, bh, r, b) = coefficients(h: h, order: order, rks: rks)
        var rhos: [Float] = []
        if !d1s.isEmpty {
            rhos = order == 2 ? [0.5] : Self.solve(Array(r.prefix(order - 1).map { Array($0.prefix(order - 1)) }), Array(b.prefix(order - 1)))
        }
        let ratio = sigmaT / sigmaS0
        let coefficient = alphaT * hPhi1
        let residualScale = alphaT * bh
        var out = x
        for i in 0..<out.count {
            let base = ratio * x.scalars[i] - coefficient * m0.scalars[i]
            if d1s.isEmpty {
                out.scalars[i] = base
            } else {
                var residual: Float = 0
                for k in 0..<d1s.count { residual += rhos[k] * d1s[k].scalars[i] }
                out.scalars[i] = base - residualScale * residual
            }
        }
        return out
    }

    private func correct(modelT: Tensor, lastSample x: Tensor, thisSample: Tensor, order: Int) -> Tensor {
        let m0 = modelOutputs[config.solverOrder - 1]!
        let (alphaT, sigmaT) = alphaSigma(sigmas[stepIndex])
        let (_, sigmaS0) = alphaSigma(sigmas[stepIndex - 1])
        let lambdaS0 = lambda(sigmas[stepIndex - 1])
        let h = lambda(sigmas[stepIndex]) - lambdaS0
        var rks: [Float] = []
        var d1s: [Tensor] = []
        for i in 1..<max(order, 1) {
            let mi = modelOutputs[config.solverOrder - 1 - i]!
            let rk = (lambda(sigmas[stepIndex - (i + 1)]) - lambdaS0) / h
            rks.append(rk)
            d1s.append(Self.difference(mi, m0, dividedBy: rk))
        }
        rks.append(1)
        let (hPhi1, bh, r, b) = coefficients(h: h, order: order, rks: rks)
        let rhos: [Float] = order == 1 ? [0.5] : Self.solve(r, b)
        let ratio = sigmaT / sigmaS0
        let coefficient = alphaT * hPhi1
        let residualScale = alphaT * bh
        let last = rhos[rhos.count - 1]
        var out = x
        for i in 0..<out.count {
            let base = ratio * x.scalars[i] - coefficient * m0.scalars[i]
            var residual: Float = 0
            for k in 0..<d1s.count { residual += rhos[k] * d1s[k].scalars[i] }
            let d1t = modelT.scalars[i] - m0.scalars[i]
            out.scalars[i] = base - residualScale * (residual + last * d1t)
        }
        return out
    }

    private static func difference(_ a: Tensor, _ b: Tensor, dividedBy r: Float) -> Tensor {
        var out = a
        for i in 0..<out.count { out.scalars[i] = (a.scalars[i] - b.scalars[i]) / r }
        return out
    }

    /// Solves a small dense system by Gaussian elimination with partial pivoting.
    static func solve(_ matrix: [[Float]], _ rhs: [Float]) -> [Float] {
        var a = matrix
        var b = rhs
        let n = b.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            b.swapAt(col, pivot)
            for row in (col + 1)..<n {
                let f = a[row][col] / a[col][col]
                for k in col..<n { a[row][k] -= f * a[col][k] }
                b[row] -= f * b[col]
            }
        }
        var x = [Float](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = b[row]
            for k in (row + 1)..<n { s -= a[row][k] * x[k] }
            x[row] = s / a[row][row]
        }
        return x
    }
}
