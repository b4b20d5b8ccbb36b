import CMoviolaKernels
/// Element-wise activations, applied in place.
public enum Activations {
    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`, `gelu_new`).
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int, context: ComputeContext) {
        let shared = SharedPointer(x)
        context.parallelFor(count, minimumPerWorker: 32768) { range in
            moviola_gelu_tanh(shared.base + range.lowerBound, range.count)
        }
    }

    /// SiLU: x · sigmoid(x).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int, context: ComputeContext) {
        let shared = SharedPointer(x)
        context.parallelFor(count, minimumPerWorker: 32768) { range in
            moviola_silu(shared.base + range.lowerBound, range.count)
        }
    }
}

extension Tensor {
    /// GELU-tanh applied element-wise.
    public func geluTanh(context: ComputeContext) -> Tensor {
        var out = self
        let n = out.count
        out.scalars.withUnsafeMutableBufferPointer { Activations.geluTanh($0.baseAddress!, count: n, context: context) }
        return out
    }

    /// SiLU applied element-wise.
    public func silu(context: ComputeContext) -> Tensor {
        var out = self
        let n = out.count
        out.scalars.withUnsafeMutableBufferPointer { Activations.silu($0.baseAddress!, count: n, context: context) }
        return out
    }
}
