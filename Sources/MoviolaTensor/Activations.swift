/// Element-wise activations, applied in place.
public enum Activations {
    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`, `gelu_new`).
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int, context: ComputeContext) {
        let shared = SharedPointer(x)
        context.parallelFor(count / 8, minimumPerWorker: 4096) { range in
            let p = shared.base
            let c0: Float = 0.7978845608028654  // sqrt(2/pi)
            for block in range {
                let ptr = UnsafeMutableRawPointer(p + block * 8)
                let v = ptr.loadUnaligned(as: FastMath.Vector.self)
                let inner = c0 * (v + 0.044715 * v * v * v)
                let y = 0.5 * v * (1 + FastMath.tanh(inner))
                ptr.storeBytes(of: y, as: FastMath.Vector.self)
            }
        }
        for i in (count / 8 * 8)..<count {
            let v = FastMath.Vector(repeating: x[i])
            let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v)
            x[i] = (0.5 * v * (1 + FastMath.tanh(inner)))[0]
        }
    }

    /// SiLU: x · sigmoid(x).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int, context: ComputeContext) {
        let shared = SharedPointer(x)
        context.parallelFor(count / 8, minimumPerWorker: 4096) { range in
            let p = shared.base
            for block in range {
                let ptr = UnsafeMutableRawPointer(p + block * 8)
                let v = ptr.loadUnaligned(as: FastMath.Vector.self)
                ptr.storeBytes(of: v / (1 + FastMath.exp(-v)), as: FastMath.Vector.self)
            }
        }
        for i in (count / 8 * 8)..<count {
            x[i] = x[i] / (1 + FastMath.exp(-x[i]))
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
