import ArgumentParser
import Foundation

/// The `moviola` command: one executable for generation, serving and tooling.

struct Moviola: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "moviola",
        abstract: "Self-hosted text-to-video generation (Wan architecture, CPU-first, exact).",
        discussion: """
            Built: generate (text or image to a labelled, watermarked, C2PA-signed H.264 MP4, or latents \
            for replays), serve (the web page, native, OpenAI- and Kling-compatible APIs, accounts, webhooks, a durable \
            queue, in-process worker, the content policy on every request and output), worker (renders for \
            a server from another host), admin (accounts, invitations, keys, the queue, policy verdicts), \
            audit (verify the tamper-evident log), moderate, verify, ca, models, bench.
            """,
        subcommands: [Generate.self, Serve.self, WorkerCommand.self, Admin.self, Audit.self, Moderate.self, Verify.self, Models.self, CA.self, Bench.self]
    )
}

/// Where the repository (bundled models, tools/) lives: `MOVIOLA_HOME` (set by ./moviola) or the current folder.
enum MoviolaHome {
    static var path: String {
        ProcessInfo.processInfo.environment["MOVIOLA_HOME"] ?? FileManager.default.currentDirectoryPath
    }

    static func resolve(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }
}

/// Prints a one-line error to stderr and exits non-zero; used for every error a user can hit.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(1)
}

func notice(_ message: String) {
    FileHandle.standardError.write(Data("note: \(message)\n".utf8))
}
