/// A 3-D convolution with PyTorch's weight layout `[out, in, kT, kH, kW]`, zero padding and
/// strides, computed as im2col per output frame followed by one GEMM.
public struct Conv3d: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (t: Int, h: Int, w: Int)
    public let padding: (t: Int, h: Int, w: Int)

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: (t: Int, h: Int, w: Int) { (weight.shape[2], weight.shape[3], weight.shape[4]) }

    public init(weight: Tensor, bias: Tensor?, stride: (Int, Int, Int) = (1, 1, 1), padding: (Int, Int, Int) = (0, 0, 0)) {
        precondition(weight.rank == 5, "conv3d weight must be 5-D, got \(weight.shape)")
        self.weight = weight
        self.bias = bias
        self.stride = (stride.0, stride.1, stride.2)
        self.padding = (padding.0, padding.1, padding.2)
    }

    /// Output extent for an input extent.
    public func outputSize(frames: Int, height: Int, width: Int) -> (t: Int, h: Int, w: Int) {
        let k = kernel
        return ((frames + 2 * padding.t - k.t) / stride.t + 1,
                (height + 2 * padding.h - k.h) / stride.h + 1,
                (width + 2 * padding.w - k.w) / stride.w + 1)
    }

    /// Convolves one sample `[in, T, H, W]` and returns it channels-last: `[T'·H'·W', out]`,
    /// the token layout a patch embedding needs.
    public func applyChannelsLast(_ input: Tensor, context: ComputeContext) -> Tensor {
        precondition(input.rank == 4 && input.shape[0] == inChannels,
                     "conv3d expects [\(inChannels), T, H, W], got \(input.shape)")
        let (T, H, W) = (input.shape[1], input.shape[2], input.shape[3])
        let o = outputSize(frames: T, height: H, width: W)
        let k = kernel
        let patch = inChannels * k.t * k.h * k.w
        let positions = o.h * o.w
        var result = Tensor(zeros: [o.t * positions, outChannels])
        var columns = [Float](repeating: 0, count: positions * patch)
        let weightRows = weight.reshaped([outChannels, patch])
        let linear = Linear(weight: weightRows, bias: bias)
        input.scalars.withUnsafeBufferPointer { src in
            result.scalars.withUnsafeMutableBufferPointer { dst in
                for ot in 0..<o.t {
                    columns.withUnsafeMutableBufferPointer { colBuffer in
                        let cols = SharedPointer(colBuffer.baseAddress!)
                        let source = SharedConstPointer(src.baseAddress!)
                        context.parallelFor(positions, minimumPerWorker: 64) { range in
                            for pos in range {
                                let oh = pos / o.w, ow = pos % o.w
                                var c = cols.base + pos * patch
                                for ci in 0..<inChannels {
                                    for kt in 0..<k.t {
                                        let t = ot * stride.t - padding.t + kt
                                        for kh in 0..<k.h {
                                            let h = oh * stride.h - padding.h + kh
                                            for kw in 0..<k.w {
                                                let w = ow * stride.w - padding.w + kw
                                                if t < 0 || t >= T || h < 0 || h >= H || w < 0 || w >= W {
                                                    c.pointee = 0
                                                } else {
                                                    c.pointee = source.base[((ci * T + t) * H + h) * W + w]
                                                }
                                                c += 1
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        linear.apply(colBuffer.baseAddress!, rows: positions, into: dst.baseAddress! + ot * positions * outChannels, context: context)
                    }
                }
            }
        }
        return result
    }

    /// Convolves one sample `[in, T, H, W]` to `[out, T', H', W']`.
    public func apply(_ input: Tensor, context: ComputeContext) -> Tensor {
        let o = outputSize(frames: input.shape[1], height: input.shape[2], width: input.shape[3])
        let channelsLast = applyChannelsLast(input, context: context)
        return channelsLast.transposed2D().reshaped([outChannels, o.t, o.h, o.w])
    }
}

extension Tensor {
    /// The transpose of a 2-D tensor.
    public func transposed2D() -> Tensor {
        precondition(rank == 2, "transposed2D needs a matrix, got \(shape)")
        let (rows, cols) = (shape[0], shape[1])
        var out = Tensor(zeros: [cols, rows])
        scalars.withUnsafeBufferPointer { src in
            out.scalars.withUnsafeMutableBufferPointer { dst in
                let tile = 32
                for r0 in stride(from: 0, to: rows, by: tile) {
                    for c0 in stride(from: 0, to: cols, by: tile) {
                        for r in r0..<min(r0 + tile, rows) {
                            for c in c0..<min(c0 + tile, cols) { dst[c * rows + r] = src[r * cols + c] }
                        }
                    }
                }
            }
        }
        return out
    }
}
