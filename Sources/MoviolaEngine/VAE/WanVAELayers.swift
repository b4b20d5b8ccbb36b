import Foundation
import MoviolaTensor

/// Reads VAE tensors by name with shape checks that name the file and the expectation.
struct VAEWeightReader {
    let store: WeightStore
    let configPath: String

    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard store.contains(name) else {
            throw EngineError("\(store.source): missing tensor \(name) (an AutoencoderKLWan per \(configPath))")
        }
        let actual = store.shape(of: name) ?? []
        guard actual.reduce(1, *) == shape.reduce(1, *), actual.count == shape.count || shape.count == 1 else {
            throw EngineError("\(store.path(of: name) ?? store.source): \(name) has shape \(actual), but \(configPath) implies \(shape)")
        }
        return try store.tensor(name)
    }

    func convolution(_ prefix: String, out: Int, in inChannels: Int, kernel: [Int]) throws -> FrameConvolution {
        FrameConvolution(weight: try tensor(prefix + ".weight", [out, inChannels] + kernel), bias: try tensor(prefix + ".bias", [out]))
    }

    func gamma(_ prefix: String, _ dim: Int) throws -> [Float] {
        try tensor(prefix + ".gamma", [dim]).scalars
    }
}

/// A causal temporal convolution with its stream state: the last `kT − 1` input frames of the
/// previous chunk (zeros before the first), so that decoding chunk by chunk equals decoding the
/// whole clip at once with causal zero padding.
struct CausalConvolution: Sendable {
    let convolution: FrameConvolution

    func apply(_ x: Frames, history: inout Frames?, context: ComputeContext) -> Frames {
        let past = convolution.kernel.t - 1
        guard past > 0 else { return convolution.apply(x, context: context) }
        let previous = history ?? Frames(zeros: past, height: x.height, width: x.width, channels: x.channels)
        let stream = previous.appending(x)
        history = stream.frames((stream.count - past)..<stream.count)
        return convolution.apply(stream, context: context)
    }
}

/// Per-voxel RMS normalisation over channels (`F.normalize · √C · γ`).
func channelRMSNorm(_ x: inout Frames, gamma: [Float], context: ComputeContext) {
    let c = x.channels
    let scale = Float(Double(c).squareRoot())
    let rows = x.voxels
    x.data.withUnsafeMutableBufferPointer { buffer in
        gamma.withUnsafeBufferPointer { g in
            let p = SharedOutput(buffer.baseAddress!), gp = SharedInput(g.baseAddress!)
            context.parallelFor(rows, minimumPerWorker: 256) { range in
                for r in range {
                    let v = p.pointer + r * c
                    var sq = 0.0
                    for i in 0..<c { sq += Double(v[i]) * Double(v[i]) }
                    let inv = Float(1 / max(sq.squareRoot(), 1e-12))
                    for i in 0..<c { v[i] = v[i] * inv * scale * gp.pointer[i] }
                }
            }
        }
    }
}

func silu(_ x: inout Frames, context: ComputeContext) {
    let n = x.data.count
    x.data.withUnsafeMutableBufferPointer { Activations.silu($0.baseAddress!, count: n, context: context) }
}

/// Stream state of every causal convolution in an encoder or decoder, in call order.
struct ConvolutionStates {
    var histories: [Frames?]
    var cursor = 0
    var started: [Bool]

    init(count: Int) {
        histories = Array(repeating: nil, count: count)
        started = Array(repeating: false, count: count)
    }

    mutating func next() -> Int {
        defer { cursor += 1 }
        return cursor
    }
}

/// `WanResidualBlock`: shortcut + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))).
struct VAEResidualBlock: Sendable {
    let norm1: [Float], norm2: [Float]
    let conv1: CausalConvolution, conv2: CausalConvolution
    let shortcut: FrameConvolution?

    init(_ r: VAEWeightReader, _ prefix: String, in inDim: Int, out outDim: Int) throws {
        norm1 = try r.gamma(prefix + ".norm1", inDim)
        norm2 = try r.gamma(prefix + ".norm2", outDim)
        conv1 = CausalConvolution(convolution: try r.convolution(prefix + ".conv1", out: outDim, in: inDim, kernel: [3, 3, 3]))
        conv2 = CausalConvolution(convolution: try r.convolution(prefix + ".conv2", out: outDim, in: outDim, kernel: [3, 3, 3]))
        shortcut = inDim != outDim ? try r.convolution(prefix + ".conv_shortcut", out: outDim, in: inDim, kernel: [1, 1, 1]) : nil
    }

    static let convolutionCount = 2

    func apply(_ input: Frames, states: inout ConvolutionStates, context: ComputeContext) -> Frames {
        let identity = shortcut.map { $0.apply(input, context: context) } ?? input
        var x = input
        channelRMSNorm(&x, gamma: norm1, context: context)
        silu(&x, context: context)
        let first = states.next()
        x = conv1.apply(x, history: &states.histories[first], context: context)
        channelRMSNorm(&x, gamma: norm2, context: context)
        silu(&x, context: context)
        let second = states.next()
        x = conv2.apply(x, history: &states.histories[second], context: context)
        for i in 0..<x.data.count { x.data[i] += identity.data[i] }
        return x
    }
}

/// `WanAttentionBlock`: single-head spatial self-attention within each frame.
struct VAEAttentionBlock: Sendable {
    let norm: [Float]
    let qkv: Linear
    let projection: Linear

    init(_ r: VAEWeightReader, _ prefix: String, dim: Int) throws {
        norm = try r.gamma(prefix + ".norm", dim)
        qkv = Linear(weight: try r.tensor(prefix + ".to_qkv.weight", [3 * dim, dim, 1, 1]).reshaped([3 * dim, dim]),
                     bias: try r.tensor(prefix + ".to_qkv.bias", [3 * dim]))
        projection = Linear(weight: try r.tensor(prefix + ".proj.weight", [dim, dim, 1, 1]).reshaped([dim, dim]),
                            bias: try r.tensor(prefix + ".proj.bias", [dim]))
    }

    func apply(_ input: Frames, context: ComputeContext) -> Frames {
        var normed = input
        channelRMSNorm(&normed, gamma: norm, context: context)
        let c = input.channels
        let tokens = input.height * input.width
        var out = input
        var q = [Float](repeating: 0, count: tokens * c), k = q, v = q, attended = q
        var packed = [Float](repeating: 0, count: tokens * 3 * c)
        var projected = q
        for f in 0..<input.count {
            normed.data.withUnsafeBufferPointer { src in
                packed.withUnsafeMutableBufferPointer { dst in
                    qkv.apply(src.baseAddress! + f * tokens * c, rows: tokens, into: dst.baseAddress!, context: context)
                }
            }
            for t in 0..<tokens {
                for i in 0..<c {
                    q[t * c + i] = packed[t * 3 * c + i]
                    k[t * c + i] = packed[t * 3 * c + c + i]
                    v[t * c + i] = packed[t * 3 * c + 2 * c + i]
                }
            }
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                attended.withUnsafeMutableBufferPointer { ap in
                    Attention.multiHead(queries: qp.baseAddress!, queryCount: tokens, keys: kp.baseAddress!, values: vp.baseAddress!,
                                        keyCount: tokens, heads: 1, headDim: c, scale: Float(1 / Double(c).squareRoot()),
                                        into: ap.baseAddress!, context: context)
                }
            } } }
            attended.withUnsafeBufferPointer { ap in
                projected.withUnsafeMutableBufferPointer { pp in
                    projection.apply(ap.baseAddress!, rows: tokens, into: pp.baseAddress!, context: context)
                }
            }
            for i in 0..<(tokens * c) { out.data[f * tokens * c + i] += projected[i] }
        }
        return out
    }
}

/// Nearest-neighbour ×2 spatial upsampling.
func upsampleNearest2x(_ x: Frames) -> Frames {
    let (h, w, c) = (x.height, x.width, x.channels)
    var out = Frames(zeros: x.count, height: 2 * h, width: 2 * w, channels: c)
    x.data.withUnsafeBufferPointer { src in
        out.data.withUnsafeMutableBufferPointer { dst in
            for f in 0..<x.count {
                for y in 0..<(2 * h) {
                    for xx in 0..<(2 * w) {
                        (dst.baseAddress! + ((f * 2 * h + y) * 2 * w + xx) * c)
                            .update(from: src.baseAddress! + ((f * h + y / 2) * w + xx / 2) * c, count: c)
                    }
                }
            }
        }
    }
    return out
}

/// A 3×3 stride-2 convolution after zero padding one row/column at the bottom/right
/// (`ZeroPad2d((0, 1, 0, 1))` + `Conv2d(stride 2)`), by im2col per frame.
struct StridedDownsample: Sendable {
    let linear: Linear
    let channels: Int

    init(weight: Tensor, bias: Tensor) {
        channels = weight.shape[1]
        linear = Linear(weight: weight.reshaped([weight.shape[0], weight.shape[1] * 9]), bias: bias)
    }

    func apply(_ x: Frames, context: ComputeContext) -> Frames {
        let (h, w, c) = (x.height, x.width, x.channels)
        let oh = (h + 1 - 3) / 2 + 1, ow = (w + 1 - 3) / 2 + 1
        var out = Frames(zeros: x.count, height: oh, width: ow, channels: linear.outFeatures)
        var columns = [Float](repeating: 0, count: oh * ow * c * 9)
        for f in 0..<x.count {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let base = (oy * ow + ox) * c * 9
                    for ch in 0..<c {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let y = oy * 2 + ky, xx = ox * 2 + kx
                                columns[base + ch * 9 + ky * 3 + kx] = (y < h && xx < w) ? x.data[((f * h + y) * w + xx) * c + ch] : 0
                            }
                        }
                    }
                }
            }
            columns.withUnsafeBufferPointer { col in
                out.data.withUnsafeMutableBufferPointer { dst in
                    linear.apply(col.baseAddress!, rows: oh * ow, into: dst.baseAddress! + f * oh * ow * linear.outFeatures, context: context)
                }
            }
        }
        return out
    }
}
