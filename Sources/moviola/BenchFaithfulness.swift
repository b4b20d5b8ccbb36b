import ArgumentParser
import Foundation

/// `moviola bench faithfulness`: the prompt-faithfulness benchmark in `eval/faithfulness.py`
/// (generates a fixed prompt set with this engine, analyses the frames, prints the table).
struct BenchFaithfulness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faithfulness",
        abstract: "Prompt faithfulness (kind, colour, count, motion, speed, background, camera; English vs Chinese; seen vs held-out).")

    @Option(help: "Model folder (default: models/moviola-mini).")
    var model: String?

    @Option(help: "Scenes (each generated in English and Chinese).")
    var count = 40

    @Option(help: "Write the full report as JSON here.")
    var json: String?

    @Option(help: "Keep the generated clips in this folder.")
    var work: String?

    @Flag(help: "Also score the world's clips after the model's VAE (the best its decoder allows; needs training/requirements.txt).")
    var vaeCeiling = false

    @Option(help: "Python with eval/requirements.txt installed.")
    var python = "python3"

    func run() throws {
        let script = MoviolaHome.resolve("eval/faithfulness.py")
        guard FileManager.default.fileExists(atPath: script) else { throw fail("\(script) not found; run from the repository") }
        let modelPath = model ?? MoviolaHome.resolve("models/moviola-mini")
        guard FileManager.default.fileExists(atPath: modelPath) else { throw fail("model folder not found: \(modelPath)") }
        var arguments = [script, "--model", modelPath, "--count", "\(count)", "--moviola", CommandLine.arguments[0]]
        if let json { arguments += ["--json", json] }
        if let work { arguments += ["--work", work] }
        if vaeCeiling { arguments.append("--vae-ceiling") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: MoviolaHome.path)
        do { try process.run() } catch { throw fail("could not start \(python): \(error)") }
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
    }
}
