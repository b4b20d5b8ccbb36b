import ArgumentParser
import Foundation
import MoviolaMedia
import MoviolaProvenance

/// `moviola bench watermark`: robustness, fidelity, speed and false detections of the invisible
/// watermark, with the `invisible-watermark` package (DWT-DCT) put through the same attacks.
struct BenchWatermark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watermark",
        abstract: "Watermark robustness benchmark (H.264/H.265 CRF 28, downscale, frame rate, brightness, crop).")

    @Option(help: "Source clips (MP4). Default: world clips rendered by tools/bench/watermark_clips.py.")
    var clips: [String] = []

    @Option(help: "World clips to render when no --clips are given.")
    var count = 6

    @Option(help: "Short side of the rendered world clips (the shipped model writes 512).")
    var shortSide = 512

    @Option(help: "Unmarked clips (and their attacked copies) to sweep for false detections.")
    var falseSweep = 40

    @Option(help: "Python with invisible-watermark installed, for the peer.")
    var python = "python3"

    @Flag(help: "Skip the invisible-watermark peer.")
    var noPeer = false

    @Option(help: "Keep the marked clips (CRF 18, before attacks) in this folder, to look at.")
    var keep: String?

    @Option(help: "Write the results as JSON here.")
    var json: String?

    /// The attacks: name and ffmpeg arguments between input and output.
    static let attacks: [(String, [String])] = [
        ("h264-crf28", ["-c:v", "libx264", "-crf", "28", "-pix_fmt", "yuv420p"]),
        ("h265-crf28", ["-c:v", "libx265", "-crf", "28", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"]),
        ("downscale-0.5-crf28", ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264", "-crf", "28", "-pix_fmt", "yuv420p"]),
        ("fps-24", ["-vf", "fps=24", "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p"]),
        ("fps-30", ["-vf", "fps=30", "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p"]),
        ("brightness+contrast", ["-vf", "eq=brightness=0.04:contrast=1.1", "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p"]),
        ("crop-10%", ["-vf", "crop=trunc(iw*0.9/2)*2:trunc(ih*0.9/2)*2", "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p"]),
    ]

    func run() throws {
        do { try bench() } catch let error as ExitCode { throw error } catch { throw fail("\(error)") }
    }

    func bench() throws {
        let work = NSTemporaryDirectory() + "moviola-wm-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        guard ffmpeg(["-version"]) else { throw ProvenanceError("the benchmark needs the ffmpeg command (apt-get install ffmpeg)") }
        var sources = clips
        if sources.isEmpty {
            let script = MoviolaHome.resolve("tools/bench/watermark_clips.py")
            guard PythonPeer.run(python, [script, "--out", work + "/src", "--count", "\(count + falseSweep)", "--short-side", "\(shortSide)"]) != nil else {
                throw ProvenanceError("rendering world clips failed (\(script))")
            }
            sources = (0..<(count + falseSweep)).map { String(format: "%@/src/clip%03d.mp4", work, $0) }
        }
        let marked = Array(sources.prefix(clips.isEmpty ? count : sources.count))
        let unmarked = clips.isEmpty ? Array(sources.dropFirst(count)) : sources
        print("watermark benchmark: \(marked.count) marked clips, \(Self.attacks.count) attacks; \(unmarked.count) unmarked clips for false detections")

        var results: [String: [Bool]] = ["none (CRF 18 output)": []]
        var psnrs: [Double] = []
        var confidences: [String: [Double]] = [:]
        for (n, source) in marked.enumerated() {
            let (info, frames) = try MediaReader.decodeVideo(path: source)
            let id = UInt64(n + 1) &* 0x9E37_79B9_7F4A_7C15
            let embedder = Watermark.Embedder(width: info.width, height: info.height, id: id)
            let out = "\(work)/marked\(n).mp4"
            let writer = try MP4Writer(path: out, width: info.width, height: info.height,
                                       options: VideoEncodingOptions(framesPerSecond: max(1, Int(info.framesPerSecond.rounded())), crf: 18))
            var squared = 0.0, samples = 0.0
            for frame in frames {
                let w = embedder.apply(frame)
                for i in 0..<w.pixels.count {
                    let d = Double(w.pixels[i]) - Double(frame.pixels[i])
                    squared += d * d
                }
                samples += Double(w.pixels.count)
                try writer.append(w)
            }
            try writer.finish()
            if let keep {
                try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(atPath: "\(keep)/marked\(n).mp4")
                try FileManager.default.copyItem(atPath: out, toPath: "\(keep)/marked\(n).mp4")
            }
            psnrs.append(10 * log10(255 * 255 / max(squared / samples, 1e-9)))
            let plain = detect(out, expected: id)
            results["none (CRF 18 output)", default: []].append(plain?.id == id)
            for (name, args) in Self.attacks {
                let attacked = "\(work)/marked\(n)-\(name).mp4"
                guard ffmpeg(["-i", out] + args + [attacked]) else { throw ProvenanceError("ffmpeg failed on attack \(name)") }
                let found = detect(attacked, expected: id)
                results[name, default: []].append(found?.id == id)
                if let found { confidences[name, default: []].append(found.confidence) }
                try? FileManager.default.removeItem(atPath: attacked)
            }
            print("  clip \(n + 1)/\(marked.count): \(info.width)x\(info.height), \(frames.count) frames, PSNR \(String(format: "%.1f", psnrs.last!)) dB")
        }

        // False detections: unmarked clips as they are and after each attack.
        var falseTrials = 0, falseHits = 0
        for (n, source) in unmarked.enumerated() {
            var variants = [source]
            for (name, args) in Self.attacks.prefix(3) {
                let attacked = "\(work)/plain\(n)-\(name).mp4"
                if ffmpeg(["-i", source] + args + [attacked]) { variants.append(attacked) }
            }
            for v in variants {
                falseTrials += 1
                if detect(v) != nil { falseHits += 1 }
                if v != source { try? FileManager.default.removeItem(atPath: v) }
            }
        }

        // Embedding speed at 720p, one core.
        let frame720 = RGBImage(width: 1280, height: 720, pixels: (0..<(1280 * 720 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) })
        let embedder720 = Watermark.Embedder(width: 1280, height: 720, id: 42)
        let start = Date()
        var embedded = 0
        while Date().timeIntervalSince(start) < 2 {
            _ = embedder720.apply(frame720)
            embedded += 1
        }
        let fps720 = Double(embedded) / Date().timeIntervalSince(start)

        var peer: [String: Any]?
        if !noPeer {
            let attacksJSON = String(decoding: try JSONSerialization.data(withJSONObject: Self.attacks.map { ["name": $0.0, "args": $0.1] }), as: UTF8.self)
            let script = MoviolaHome.resolve("tools/bench/watermark_peer.py")
            if let line = PythonPeer.run(python, [script, "--attacks", attacksJSON, "--work", work + "/peer"] + marked),
               let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                peer = parsed
            } else {
                notice("the invisible-watermark peer failed (its error is above; it needs pip install -r tools/bench/requirements.txt)")
            }
        }

        let peerRates = peer?["recovered"] as? [String: Double] ?? [:]
        print("")
        print("| attack | Moviola exact payload | invisible-watermark (DWT-DCT) exact payload |")
        print("| --- | --- | --- |")
        for name in ["none (CRF 18 output)"] + Self.attacks.map(\.0) {
            let r = results[name] ?? []
            let rate = Double(r.filter { $0 }.count) / Double(max(1, r.count))
            let peerText = peerRates[name].map { String(format: "%.0f %%", $0 * 100) } ?? "-"
            print("| \(name) | \(String(format: "%.0f %%", rate * 100)) (\(r.filter { $0 }.count)/\(r.count)) | \(peerText) |")
        }
        let meanPSNR = psnrs.reduce(0, +) / Double(max(1, psnrs.count))
        print("")
        print(String(format: "PSNR of the marked frames: Moviola %.1f dB (min %.1f)%@", meanPSNR, psnrs.min() ?? 0,
                     (peer?["psnr"] as? Double).map { String(format: ", invisible-watermark %.1f dB", $0) } ?? ""))
        print(String(format: "embedding at 1280x720 on one core: %.0f frames/s (%.1fx real time at 24 fps)%@", fps720, fps720 / 24,
                     (peer?["fps720"] as? Double).map { String(format: "; invisible-watermark %.1f frames/s", $0) } ?? ""))
        print("false detections on unmarked clips: \(falseHits) of \(falseTrials) (analytic bound per clip: 8 CRC-32 trials, ≤ 1.9e-9)")
        if let json {
            var out: [String: Any] = ["psnr": meanPSNR, "fps720": fps720, "falseDetections": falseHits, "falseTrials": falseTrials]
            out["recovered"] = Dictionary(uniqueKeysWithValues: results.map { ($0.key, Double($0.value.filter { $0 }.count) / Double(max(1, $0.value.count))) })
            if let peer { out["peer"] = peer }
            try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: json))
        }
    }

    func detect(_ path: String, expected: UInt64? = nil) -> Watermark.Detection? {
        var detector = Watermark.Detector()
        guard (try? MediaReader.decode(path: path) { detector.add($0) }) != nil else { return nil }
        return detector.detect(diagnosing: ProcessInfo.processInfo.environment["MOVIOLA_WM_DEBUG"] != nil ? expected : nil)
    }

    @discardableResult
    func ffmpeg(_ args: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-v", "error", "-y", "-nostdin"] + args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
