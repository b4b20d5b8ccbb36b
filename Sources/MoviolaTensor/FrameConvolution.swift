import Dispatch

/// A stack of channels-last frames `[T, H, W, C]`, the layout of the VAE's activations: every
/// per-voxel operation (norms, activations, 1×1 convolutions) reads contiguous rows.
public struct Frames: Sendable, Equatable {
    public var count: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var data: [Float]

    public init(count: Int, height: Int, width: Int, channels: Int, data: [Float]) {
        precondition(data.count == count * height * width * channels, "frames data size mismatch")
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.data = data
    }

    public init(zeros count: Int, height: Int, width: Int, channels: Int) {
        self.init(count: count, height: height, width: width, channels: channels,
                  data: [Float](repeating: 0, count: count * height * width * channels))
    }

    public var frameSize: Int { height * width * channels }
    public var voxels: Int { count * height * width }

    /// Frames `range` as a new stack.
    public func frames(_ range: Range<Int>) -> Frames {
        Frames(count: range.count, height: height, width: width, channels: channels,
               data: Array(data[(range.lowerBound * frameSize)..<(range.upperBound * frameSize)]))
    }

    /// This stack followed by `other`.
    public func appending(_ other: Frames) -> Frames {
        precondition(other.height == height && other.width == width && other.channels == channels, "frame shape mismatch")
        return Frames(count: count + other.count, height: height, width: width, channels: channels, data: data + other.data)
    }

    /// From a channels-first tensor `[C, T, H, W]`.
    public init(channelsFirst t: Tensor) {
        precondition(t.rank == 4, "expected [C, T, H, W], got \(t.shape)")
        let (c, n, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var data = [Float](repeating: 0, count: t.count)
        let plane = n * h * w
        for ch in 0..<c {
            for i in 0..<plane { data[i * c + ch] = t.scalars[ch * plane + i] }
        }
        self.init(count: n, height: h, width: w, channels: c, data: data)
    }

    /// As a channels-first tensor `[C, T, H, W]`.
    public var channelsFirst: Tensor {
        var out = [Float](repeating: 0, count: data.count)
        let plane = voxels
        for i in 0..<plane {
            for ch in 0..<channels { out[ch * plane + i] = data[i * channels + ch] }
        }
        return Tensor(shape: [channels, count, height, width], scalars: out)
    }
}

/// A convolution over channels-last frames with kernel `[kT, kH, kW]` (odd spatial size, "same"
/// spatial zero padding, stride 1), temporally *valid*: `n` input frames give `n − kT + 1`
/// outputs. Causal padding is the caller's business (it prepends history frames).
///
/// Each kernel tap is one GEMM over a zero-padded frame: output positions are computed on the
/// padded-width grid, where the input rows a tap needs form one contiguous block, so no im2col
/// buffer is built; the extra columns are dropped afterwards.
public struct FrameConvolution: Sendable {
    public let outChannels: Int
    public let inChannels: Int
    public let kernel: (t: Int, h: Int, w: Int)
    /// One `[out, in]` matrix per tap, taps ordered (t, h, w).
    let taps: [Float]
    let bias: [Float]

    /// - Parameter weight: PyTorch layout `[out, in, kT, kH, kW]` or, for 2-D, `[out, in, kH, kW]`.
    public init(weight: Tensor, bias: Tensor?) {
        let w = weight.rank == 4 ? weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2], weight.shape[3]]) : weight
        precondition(w.rank == 5, "convolution weight must be 4-D or 5-D, got \(weight.shape)")
        let (o, i, kt, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3], w.shape[4])
        precondition(kh % 2 == 1 && kw % 2 == 1, "spatial kernel must be odd, got \(kh)×\(kw)")
        outChannels = o
        inChannels = i
        kernel = (kt, kh, kw)
        let tapCount = kt * kh * kw
        var taps = [Float](repeating: 0, count: tapCount * o * i)
        for oc in 0..<o {
            for ic in 0..<i {
                for tap in 0..<tapCount {
                    taps[(tap * o + oc) * i + ic] = w.scalars[(oc * i + ic) * tapCount + tap]
                }
            }
        }
        self.taps = taps
        self.bias = bias?.scalars ?? [Float](repeating: 0, count: o)
        precondition(self.bias.count == o, "bias size \(self.bias.count) does not match \(o) output channels")
    }

    /// Convolves `input` (at least `kT` frames).
    public func apply(_ input: Frames, context: ComputeContext) -> Frames {
        precondition(input.channels == inChannels, "convolution expects \(inChannels) channels, got \(input.channels)")
        precondition(input.count >= kernel.t, "need at least \(kernel.t) frames, got \(input.count)")
        let (H, W, I, O) = (input.height, input.width, inChannels, outChannels)
        let outFrames = input.count - kernel.t + 1
        var output = Frames(zeros: outFrames, height: H, width: W, channels: O)
        if kernel.h == 1 && kernel.w == 1 {
            // Pointwise in space: one GEMM per temporal tap over all positions.
            output.data.withUnsafeMutableBufferPointer { out in
                for r in 0..<(outFrames * H * W) { (out.baseAddress! + r * O).initialize(from: bias, count: O) }
                input.data.withUnsafeBufferPointer { src in
                    taps.withUnsafeBufferPointer { tp in
                        for kt in 0..<kernel.t {
                            BLAS.parallelGemm(m: outFrames * H * W, n: O, k: I, a: src.baseAddress! + kt * H * W * I,
                                              b: tp.baseAddress! + kt * O * I, transposeB: true, beta: 1,
                                              c: out.baseAddress!, context: context)
                        }
                    }
                }
            }
            return output
        }
        let ph = kernel.h / 2, pw = kernel.w / 2
        let paddedW = W + 2 * pw, paddedH = H + 2 * ph
        // Slack rows so the last taps' contiguous blocks stay inside the buffer.
        let paddedFrame = (paddedH + 1) * paddedW * I
        var padded = [Float](repeating: 0, count: input.count * paddedFrame)
        padded.withUnsafeMutableBufferPointer { dst in
            input.data.withUnsafeBufferPointer { src in
                for f in 0..<input.count {
                    for h in 0..<H {
                        let from = src.baseAddress! + ((f * H + h) * W) * I
                        let to = dst.baseAddress! + f * paddedFrame + ((h + ph) * paddedW + pw) * I
                        to.update(from: from, count: W * I)
                    }
                }
            }
        }
        let gridRows = H * paddedW
        var grid = [Float](repeating: 0, count: gridRows * O)
        padded.withUnsafeBufferPointer { pad in
            taps.withUnsafeBufferPointer { tp in
                grid.withUnsafeMutableBufferPointer { g in
                    output.data.withUnsafeMutableBufferPointer { out in
                        for t in 0..<outFrames {
                            for r in 0..<gridRows { (g.baseAddress! + r * O).initialize(from: bias, count: O) }
                            var tap = 0
                            for kt in 0..<kernel.t {
                                let frame = pad.baseAddress! + (t + kt) * paddedFrame
                                for kh in 0..<kernel.h {
                                    for kw in 0..<kernel.w {
                                        BLAS.parallelGemm(m: gridRows, n: O, k: I, a: frame + (kh * paddedW + kw) * I,
                                                          b: tp.baseAddress! + tap * O * I, transposeB: true, beta: 1,
                                                          c: g.baseAddress!, context: context)
                                        tap += 1
                                    }
                                }
                            }
                            for h in 0..<H {
                                (out.baseAddress! + ((t * H + h) * W) * O).update(from: g.baseAddress! + h * paddedW * O, count: W * O)
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
