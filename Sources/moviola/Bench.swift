import ArgumentParser
import Foundation
import MoviolaEngine
import MoviolaTensor

/// `moviola bench`: speed measurements compared with a peer measured in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, each compared with diffusers/PyTorch on CPU in the same run.",
        subcommands: [BenchTransformer.self, BenchPipeline.self, BenchWatermark.self, BenchFaithfulness.self, BenchModeration.self]
    )
}

/// A named transformer shape to benchmark.
struct TransformerBenchShape {
    let name: String
    let config: WanTransformerConfig
    let latent: (t: Int, h: Int, w: Int)
    let textTokens: Int
    let summary: String

    static let all: [TransformerBenchShape] = [
        TransformerBenchShape(
            name: "wan2.1-1.3b",
            config: WanTransformerConfig(numAttentionHeads: 12, attentionHeadDim: 128, ffnDim: 8960, numLayers: 30),
            latent: (1, 60, 104), textTokens: 512,
            summary: "Wan2.1-T2V-1.3B, one 480×832 latent frame (1560 tokens), 512 text tokens"),
        TransformerBenchShape(
            name: "wan2.1-1.3b-3layers",
            config: WanTransformerConfig(numAttentionHeads: 12, attentionHeadDim: 128, ffnDim: 8960, numLayers: 3),
            latent: (1, 60, 104), textTokens: 512,
            summary: "Wan2.1-1.3B dimensions, 3 of 30 layers, one 480×832 latent frame"),
        TransformerBenchShape(
            name: "wan2.1-1.3b-3layers-5frames",
            config: WanTransformerConfig(numAttentionHeads: 12, attentionHeadDim: 128, ffnDim: 8960, numLayers: 3),
            latent: (5, 30, 52), textTokens: 512,
            summary: "Wan2.1-1.3B dimensions, 3 layers, 17 frames at 240×416 (1950 tokens)"),
        TransformerBenchShape(
            name: "bench-pipeline",
            config: WanTransformerConfig(numAttentionHeads: 6, attentionHeadDim: 64, textDim: 256, ffnDim: 1536, numLayers: 8),
            latent: (9, 32, 32), textTokens: 512,
            summary: "the transformer of `moviola bench pipeline` (8 layers × 384), 33 frames at 256×256 (2304 tokens)"),
        TransformerBenchShape(
            name: "small",
            config: WanTransformerConfig(numAttentionHeads: 4, attentionHeadDim: 64, textDim: 256, freqDim: 64, ffnDim: 1024, numLayers: 4),
            latent: (3, 16, 16), textTokens: 64,
            summary: "a small 256-wide model, 192 tokens (smoke test)"),
    ]

    var tokens: Int { latent.t / config.patchSize[0] * (latent.h / config.patchSize[1]) * (latent.w / config.patchSize[2]) }

    /// Multiply-add FLOPs of one forward pass (linear layers and attention; norms and RoPE excluded).
    var forwardFLOPs: Double {
        let n = Double(tokens), m = Double(textTokens), d = Double(config.innerDim), f = Double(config.ffnDim)
        let perBlockLinear = 2 * n * d * d * 4 + 2 * n * d * d * 2 + 2 * m * d * d * 2 + 2 * n * d * f * 2
        let perBlockAttention = 4 * n * n * d + 4 * n * m * d
        let embed = 2 * m * Double(config.textDim) * d + 2 * m * d * d
        return Double(config.numLayers) * (perBlockLinear + perBlockAttention) + embed
    }
}

struct BenchTransformer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer",
        abstract: "One denoising step (two forward passes: prompt and negative prompt) of a Wan transformer with random weights.",
        discussion: "Shapes: " + TransformerBenchShape.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")
    )

    @Option(help: "Shape to run.")
    var config: String = "wan2.1-1.3b"

    @Option(help: "Steps to time (the median is reported).")
    var steps: Int = 1

    @Option(help: "CPU threads (default: all cores or MOVIOLA_THREADS).")
    var threads: Int?

    @Flag(help: "Skip the diffusers/PyTorch peer.")
    var noPeer = false

    @Option(help: "Python interpreter for the peer.")
    var python: String = "python3"

    func run() throws {
        guard let shape = TransformerBenchShape.all.first(where: { $0.name == config }) else {
            throw fail("unknown config \(config); choose one of \(TransformerBenchShape.all.map(\.name).joined(separator: ", "))")
        }
        let compute = ComputeContext(threads: threads)
        print("config: \(shape.name): \(shape.summary)")
        print("threads: \(compute.threads), OpenBLAS core: \(BLASCore.name)")

        let kernels = KernelRates.measure(compute: compute, dim: shape.config.innerDim, heads: shape.config.numAttentionHeads,
                                          headDim: shape.config.attentionHeadDim, tokens: shape.tokens)
        print(String(format: "GEMM %d×%d×%d: %.1f GFLOP/s", kernels.gemmShape.0, kernels.gemmShape.1, kernels.gemmShape.2, kernels.gemmRate))
        print(String(format: "attention %d tokens, %d heads × %d: %.1f GFLOP/s (%.2f of the GEMM rate)",
                     shape.tokens, shape.config.numAttentionHeads, shape.config.attentionHeadDim, kernels.attentionRate,
                     kernels.attentionRate / kernels.gemmRate))

        let buildStart = Date()
        let model = WanTransformer3DModel(config: shape.config, weights: .random(config: shape.config, seed: 1))
        print(String(format: "random weights: %.1f s", Date().timeIntervalSince(buildStart)))
        let c = shape.config
        let latents = GaussianNoise(seed: 2).tensor(shape: [c.inChannels, shape.latent.t, shape.latent.h, shape.latent.w])
        let text = GaussianNoise(seed: 3).tensor(shape: [shape.textTokens, c.textDim])
        let negative = GaussianNoise(seed: 4).tensor(shape: [shape.textTokens, c.textDim])
        // As in a generation: the text is projected once per prompt, then every step runs two passes.
        let prepareStart = Date()
        let preparedText = try model.prepareText(text, compute: compute)
        let preparedNegative = try model.prepareText(negative, compute: compute)
        let prepareSeconds = Date().timeIntervalSince(prepareStart)
        var times: [Double] = []
        for _ in 0..<max(1, steps) {
            let start = Date()
            _ = try model.forward(latents, timestep: .uniform(900), text: preparedText, compute: compute)
            _ = try model.forward(latents, timestep: .uniform(900), text: preparedNegative, compute: compute)
            times.append(Date().timeIntervalSince(start))
        }
        let seconds = times.sorted()[times.count / 2]
        let firstStep = seconds + prepareSeconds
        let rate = 2 * shape.forwardFLOPs / firstStep / 1e9
        print(String(format: "moviola: %.2f s for the first denoising step (%.1f GFLOP/s), of which %.2f s project the two prompts once per generation; %.2f s per later step",
                     firstStep, rate, prepareSeconds, seconds))

        guard !noPeer else { return }
        let script = MoviolaHome.resolve("tools/bench/bench_transformer.py")
        guard let peer = Self.runPeer(python: python, script: script, config: shape, threads: compute.threads, steps: max(1, steps)) else {
            print("peer: unavailable (install tools/bench/requirements.txt: pip install -r tools/bench/requirements.txt)")
            return
        }
        let peerRate = 2 * shape.forwardFLOPs / peer / 1e9
        print(String(format: "diffusers (PyTorch %@, CPU): %.2f s per denoising step, %.1f GFLOP/s", Self.peerVersion, peer, peerRate))
        print(String(format: "speed-up over diffusers: %.2f× on the first step, %.2f× on later steps", peer / firstStep, peer / seconds))
    }

    nonisolated(unsafe) static var peerVersion = "?"

    /// Runs the diffusers peer and returns its median seconds per step.
    static func runPeer(python: String, script: String, config: TransformerBenchShape, threads: Int, steps: Int) -> Double? {
        guard FileManager.default.fileExists(atPath: script) else { return nil }
        let c = config.config
        guard let line = PythonPeer.run(python, [script, "--heads", "\(c.numAttentionHeads)", "--head-dim", "\(c.attentionHeadDim)",
                                                 "--layers", "\(c.numLayers)", "--ffn-dim", "\(c.ffnDim)", "--text-dim", "\(c.textDim)",
                                                 "--freq-dim", "\(c.freqDim)", "--latent", "\(config.latent.t)x\(config.latent.h)x\(config.latent.w)",
                                                 "--text-tokens", "\(config.textTokens)", "--threads", "\(threads)", "--steps", "\(steps)"]),
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let seconds = (json["seconds_per_step"] as? NSNumber)?.doubleValue
        else { return nil }
        peerVersion = json["torch"] as? String ?? "?"
        return seconds
    }
}

/// Runs a Python peer script and returns its last line of output, or nil when it failed.
enum PythonPeer {
    static func run(_ python: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(data: data, encoding: .utf8)?.split(separator: "\n").last.map(String.init) ?? ""
    }
}

/// GEMM and attention throughput on the benchmark's own shapes.
struct KernelRates {
    let gemmShape: (Int, Int, Int)
    let gemmRate: Double
    let attentionRate: Double

    static func measure(compute: ComputeContext, dim: Int, heads: Int, headDim: Int, tokens: Int) -> KernelRates {
        let m = tokens, n = dim, k = dim
        let a = GaussianNoise(seed: 10).samples(m * k), b = GaussianNoise(seed: 11).samples(n * k)
        var c = [Float](repeating: 0, count: m * n)
        let gemmSeconds = best(of: 3) {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.parallelGemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, transposeB: true, c: cp.baseAddress!, context: compute)
            } } }
        }
        let width = heads * headDim
        let q = GaussianNoise(seed: 12).samples(tokens * width)
        let kv = GaussianNoise(seed: 13).samples(tokens * width)
        var out = [Float](repeating: 0, count: tokens * width)
        let attentionSeconds = best(of: 3) {
            q.withUnsafeBufferPointer { qp in kv.withUnsafeBufferPointer { kp in out.withUnsafeMutableBufferPointer { op in
                Attention.multiHead(queries: qp.baseAddress!, queryCount: tokens, keys: kp.baseAddress!, values: kp.baseAddress!,
                                    keyCount: tokens, heads: heads, headDim: headDim, scale: 0.088, into: op.baseAddress!, context: compute)
            } } }
        }
        let attentionFLOPs = 4 * Double(tokens) * Double(tokens) * Double(width)
        return KernelRates(gemmShape: (m, n, k), gemmRate: 2 * Double(m * n * k) / gemmSeconds / 1e9,
                           attentionRate: attentionFLOPs / attentionSeconds / 1e9)
    }

    static func best(of runs: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = Date()
            body()
            best = min(best, Date().timeIntervalSince(start))
        }
        return best
    }
}

/// `moviola bench pipeline`: the whole text-to-video path on a small but real random-weight
/// pipeline that the diffusers peer writes, so both sides run identical weights.
struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Text encoding, denoising steps and VAE decode of a random-weight pipeline (UMT5 4×256, transformer 8×384, VAE base 32), against diffusers.",
        discussion: "The pipeline folder is written once by tools/bench/bench_pipeline.py (needs tools/bench/requirements.txt)."
    )

    @Option(help: "Pipeline folder (created by the peer script when missing).")
    var folder: String = ".build/bench-pipeline"

    @Option(help: "Frame count.")
    var frames: Int = 33

    @Option(help: "Size WxH.")
    var size: String = "256x256"

    @Option(help: "Denoising steps.")
    var steps: Int = 4

    @Option(help: "CPU threads (default: all cores or MOVIOLA_THREADS).")
    var threads: Int?

    @Flag(help: "Skip the diffusers peer.")
    var noPeer = false

    @Option(help: "Python interpreter for the peer.")
    var python: String = "python3"

    func run() throws {
        let (width, height) = try Generate.parseSize(size)
        let compute = ComputeContext(threads: threads)
        let script = MoviolaHome.resolve("tools/bench/bench_pipeline.py")
        let folderPath = (folder as NSString).isAbsolutePath ? folder : MoviolaHome.resolve(folder)
        if !FileManager.default.fileExists(atPath: folderPath + "/model_index.json") {
            print("writing the random-weight pipeline to \(folderPath) with diffusers…")
            guard PythonPeer.run(python, [script, "--make", folderPath]) != nil else {
                throw fail("cannot create the benchmark pipeline: install tools/bench/requirements.txt (pip install -r tools/bench/requirements.txt)")
            }
        }
        print("config: \(frames) frames at \(width)x\(height), \(steps) steps, guidance 5, threads \(compute.threads), OpenBLAS core \(BLASCore.name)")
        let pipeline = try WanPipeline(folder: PipelineFolder(path: folderPath))
        let request = GenerationRequest(prompt: "a red ball bounces on the grass", frames: frames, width: width, height: height,
                                        steps: steps, guidanceScale: 5, seed: 0)
        var marks: [String: Date] = [:]
        let start = Date()
        try pipeline.generate(request, compute: compute, progress: { stage in
            switch stage {
            case .encodingText: marks["text"] = Date()
            case .denoising(let step, _): marks[step == 0 ? "denoising" : "denoised"] = Date()
            case .decoding, .preview: break
            }
        }, onFrames: { _ in })
        let end = Date()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let textOnly = marks["denoising"]!.timeIntervalSince(marks["text"]!)
        let perStep = marks["denoised"]!.timeIntervalSince(marks["denoising"]!) / Double(steps)
        let ours = (total: end.timeIntervalSince(start), decode: end.timeIntervalSince(marks["denoised"]!), memory: Double(usage.ru_maxrss) / 1024)
        print(String(format: "moviola:   text %.2f s, %.2f s per step, VAE decode %.2f s, end to end %.2f s, peak memory %.0f MB",
                     textOnly, perStep, ours.decode, ours.total, ours.memory))
        guard !noPeer else { return }
        guard let line = PythonPeer.run(python, [script, "--run", folderPath, "--frames", "\(frames)", "--size", size,
                                                 "--steps", "\(steps)", "--threads", "\(compute.threads)"]),
              let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let text = json["text_encoding"] as? Double, let step = json["per_step"] as? Double,
              let decode = json["vae_decode"] as? Double, let total = json["end_to_end"] as? Double,
              let memory = json["peak_memory_mb"] as? Double
        else {
            print("peer: unavailable (pip install -r tools/bench/requirements.txt)")
            return
        }
        print(String(format: "diffusers: text %.2f s, %.2f s per step, VAE decode %.2f s, end to end %.2f s, peak memory %.0f MB (PyTorch %@)",
                     text, step, decode, total, memory, json["torch"] as? String ?? "?"))
        print(String(format: "speed-up over diffusers: text %.2f×, step %.2f×, VAE decode %.2f×, end to end %.2f×",
                     text / textOnly, step / perStep, decode / ours.decode, total / ours.total))
    }
}
