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
/// Per temporal tap, the spatial taps of a block of output rows are gathered from a zero-padded
/// frame (im2col over `kH·kW·C`, a few megabytes at a time) and multiplied in one GEMM, so the
/// GEMM's inner dimension is `kH·kW·C` rather than `C`.
public struct FrameConvolution: Sendable {
    public let outChannels: Int
    public let inChannels: Int
    public let kernel: (t: Int, h: Int, w: Int)
    /// One `[out, kH·kW·in]` matrix per temporal tap; columns ordered (h, w, in).
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
        let spatial = kh * kw
        var taps = [Float](repeating: 0, count: tapCount * o * i)
        for oc in 0..<o {
            for ic in 0..<i {
                for t in 0..<kt {
                    for sp in 0..<spatial {
                        taps[((t * o + oc) * spatial + sp) * i + ic] = w.scalars[(oc * i + ic) * tapCount + t * spatial + sp]
                    }
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
        let paddedFrame = paddedH * paddedW * I
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
        let spatial = kernel.h * kernel.w
        let columnWidth = spatial * I
        // Whole output rows per block, about 4 M floats of columns.
        let rowsPerBlock = max(1, min(H, (4 << 20) / max(1, W * columnWidth)))
        var columns = [Float](repeating: 0, count: rowsPerBlock * W * columnWidth)
        padded.withUnsafeBufferPointer { pad in
            taps.withUnsafeBufferPointer { tp in
                columns.withUnsafeMutableBufferPointer { col in
                    output.data.withUnsafeMutableBufferPointer { out in
                        let colBase = SharedPointer(col.baseAddress!)
                        for t in 0..<outFrames {
                            let frameOut = out.baseAddress! + t * H * W * O
                            for r in 0..<(H * W) { (frameOut + r * O).initialize(from: bias, count: O) }
                            for kt in 0..<kernel.t {
                                let frame = SharedConstPointer(pad.baseAddress! + (t + kt) * paddedFrame)
                                var h0 = 0
                                while h0 < H {
                                    let rows = min(rowsPerBlock, H - h0)
                                    let kernelH = kernel.h, kernelW = kernel.w, firstRow = h0
                                    context.parallelFor(rows * W, minimumPerWorker: 256) { range in
                                        for position in range {
                                            let h = firstRow + position / W, w = position % W
                                            var dst = colBase.base + position * columnWidth
                                            for kh in 0..<kernelH {
                                                let src = frame.base + ((h + kh) * paddedW + w) * I
                                                for kw in 0..<kernelW {
                                                    dst.update(from: src + kw * I, count: I)
                                                    dst += I
                                                }
                                            }
                                        }
                                    }
                                    BLAS.parallelGemm(m: rows * W, n: O, k: columnWidth, a: col.baseAddress!,
                                                      b: tp.baseAddress! + kt * O * columnWidth, transposeB: true, beta: 1,
                                                      c: frameOut + h0 * W * O, context: context)
                                    h0 += rows
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
