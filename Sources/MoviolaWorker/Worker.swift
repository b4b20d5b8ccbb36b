import Foundation
import Logging
import MoviolaEngine
import MoviolaMedia
import MoviolaTensor
import Synchronization

/// The worker loop: claim a job, render it while heartbeats renew the lease (and carry progress,
/// previews and the cancel flag back), then hand the file over or report why not. Runs in the
/// server process or as `moviola worker` on another host; the loop is the same.
public struct Worker: Sendable {
    public let source: any JobSource
    /// Model name → diffusers folder.
    public let models: [String: String]
    public let workerID: String
    public let threads: Int?
    /// Where files are rendered before they are handed over.
    public let scratchDirectory: String
    public let logger: Logger
    private let pipelines = PipelineCache()

    public init(source: any JobSource, models: [String: String], workerID: String, threads: Int?, scratchDirectory: String, logger: Logger) {
        self.source = source
        self.models = models
        self.workerID = workerID
        self.threads = threads
        self.scratchDirectory = scratchDirectory
        self.logger = logger
    }

    /// A worker name unique to this process: host, pid and a random suffix.
    public static func makeID(prefix: String = "worker") -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(prefix)-\(host)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Runs until the task is cancelled (graceful shutdown: a running job is released back to the queue).
    public func run() async {
        try? FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true)
        var failures = 0
        while !Task.isCancelled {
            do {
                guard let assignment = try await source.claim(worker: workerID) else {
                    try await source.waitForWork()
                    continue
                }
                failures = 0
                await process(assignment)
            } catch is CancellationError {
                break
            } catch {
                failures += 1
                let delay = min(30.0, pow(2.0, Double(min(failures, 5))) / 2)
                logger.warning("cannot reach the job queue (\(error)); retrying in \(delay) s")
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    /// What stops a render early.
    enum Stop: Sendable { case cancelled, lost, released }

    struct RunState: Sendable {
        var progress = WorkProgress(stage: "loading")
        var pendingPreview: Data?
        var stop: Stop?
    }

    /// Renders one job and reports the outcome; never throws.
    public func process(_ assignment: WorkAssignment) async {
        let ticket = assignment.ticket
        let state = SharedState(RunState())
        let output = (scratchDirectory as NSString).appendingPathComponent("\(ticket.jobID)-\(ticket.attempt).mp4")
        let start = Date()
        logger.info("job \(ticket.jobID) attempt \(ticket.attempt): rendering generation \(ticket.generationID)")
        let heartbeat = Task {
            // A heartbeat goes out when progress changes (at most every half second, so steps show as they
            // happen) and at least every `heartbeatSeconds` (the lease renewal).
            let interval = max(0.2, assignment.heartbeatSeconds)
            var lastSent = Date()
            var lastProgress: WorkProgress?
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                if Task.isCancelled { break }
                let (progress, hasPreview) = state.withLock { s -> (WorkProgress, Bool) in (s.progress, s.pendingPreview != nil) }
                let since = Date().timeIntervalSince(lastSent)
                let changed = progress != lastProgress || hasPreview
                guard since >= interval || (changed && since >= 0.5) else { continue }
                var outgoing = progress
                outgoing.preview = state.withLock { s -> Data? in
                    defer { s.pendingPreview = nil }
                    return s.pendingPreview
                }
                lastSent = Date()
                lastProgress = progress
                do {
                    switch try await source.heartbeat(ticket, progress: outgoing) {
                    case .proceed: break
                    case .cancel: state.withLock { if $0.stop == nil { $0.stop = .cancelled } }
                    case .lost: state.withLock { $0.stop = .lost }
                    }
                } catch {
                    logger.warning("job \(ticket.jobID): heartbeat failed (\(error)); retrying")
                }
            }
        }
        defer { heartbeat.cancel() }
        let outcome: Result<RenderResult, any Error> = await withTaskCancellationHandler {
            do {
                let path = try models[assignment.model] ?? { throw WorkFailure(.infrastructure, "this worker has no model named \(assignment.model)") }()
                let firstFrame = try assignment.firstFrame.map { data -> RGBImage in
                    do { return try MediaReader.decodeImage(data: data, scratchDirectory: scratchDirectory) } catch {
                        throw WorkFailure(.invalid, "the first-frame image does not decode: \(error)")
                    }
                }
                var decodedEarlier: [RGBImage] = []
                if let clip = assignment.earlierClip {
                    let file = (scratchDirectory as NSString).appendingPathComponent("earlier-\(ticket.jobID)-\(ticket.attempt).mp4")
                    defer { try? FileManager.default.removeItem(atPath: file) }
                    do {
                        try clip.write(to: URL(fileURLWithPath: file))
                        decodedEarlier = try MediaReader.decodeVideo(path: file).1
                    } catch {
                        throw WorkFailure(.invalid, "the clip to extend does not decode: \(error)")
                    }
                }
                let earlierClip = decodedEarlier
                let threads = self.threads
                let pipelines = self.pipelines
                let result = try await runOnThread {
                    let pipeline = try pipelines.pipeline(name: assignment.model, path: path)
                    return try ClipRenderer(pipeline: pipeline).render(
                        assignment.settings, marks: assignment.marks, firstFrame: firstFrame, earlierClip: earlierClip, to: output,
                        compute: ComputeContext(threads: threads), previewEvery: assignment.previewEvery,
                        events: { event in
                            let stop = state.withLock { s -> Stop? in
                                switch event {
                                case .encodingText: s.progress = WorkProgress(stage: "encoding_text")
                                case .denoising(let step, let total): s.progress = WorkProgress(stage: "denoising", step: step, totalSteps: total)
                                case .preview(_, _, let jpeg): s.pendingPreview = jpeg
                                case .decoding(let done, let total):
                                    s.progress = WorkProgress(stage: "decoding", step: done, totalSteps: total)
                                }
                                return s.stop
                            }
                            if stop != nil { throw CancellationError() }
                        })
                }
                return .success(result)
            } catch {
                return .failure(error)
            }
        } onCancel: {
            state.withLock { if $0.stop == nil { $0.stop = .released } }
        }
        let stop = state.withLock { s -> Stop? in
            if case .success = outcome { s.progress = WorkProgress(stage: "publishing", step: s.progress.step, totalSteps: s.progress.totalSteps) }
            return s.stop
        }
        // Heartbeats go on while the file is handed over (the server checks and signs it under the same lease).
        // Reported outside this task's cancellation: on shutdown the release must still reach the queue.
        await Task { await report(outcome, stop: stop, ticket: ticket, output: output, start: start) }.value
        heartbeat.cancel()
        try? FileManager.default.removeItem(atPath: output)
    }

    private func report(_ outcome: Result<RenderResult, any Error>, stop: Stop?, ticket: JobTicket, output: String, start: Date) async {
        do {
            switch outcome {
            case .success(let result):
                if stop == .lost {
                    logger.warning("job \(ticket.jobID) attempt \(ticket.attempt): lease lost; the result is discarded")
                } else {
                    let report = RenderReport(framesWritten: result.framesWritten, framesSHA256: result.framesSHA256,
                                              renderSeconds: Date().timeIntervalSince(start), engineVersion: EngineVersion.string,
                                              threads: threads ?? ComputeContext(threads: nil).threads)
                    try await source.complete(ticket, video: URL(fileURLWithPath: output), report: report)
                    logger.info("job \(ticket.jobID) attempt \(ticket.attempt): done in \(String(format: "%.1f", report.renderSeconds)) s")
                }
            case .failure(let error):
                let failure: WorkFailure
                switch stop {
                case .lost:
                    logger.warning("job \(ticket.jobID) attempt \(ticket.attempt): lease lost; stopped")
                    try? FileManager.default.removeItem(atPath: output)
                    return
                case .cancelled: failure = WorkFailure(.cancelled, "cancelled by the user")
                case .released: failure = WorkFailure(.released, "the worker shut down; the job returns to the queue")
                case nil: failure = (error as? WorkFailure) ?? WorkFailure(.infrastructure, "\(error)")
                }
                logger.info("job \(ticket.jobID) attempt \(ticket.attempt): \(failure.kind.rawValue): \(failure.message)")
                try await source.fail(ticket, failure: failure)
            }
        } catch let error as StaleLeaseError {
            logger.warning("\(error)")
        } catch {
            logger.error("job \(ticket.jobID): could not report the outcome (\(error)); the lease will expire and the job will be retried")
        }
    }
}

/// A value shared between tasks and threads behind a lock.
final class SharedState<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T { try mutex.withLock { try body(&$0) } }
}

/// Loaded pipelines, one per model, kept for the worker's life.
final class PipelineCache: Sendable {
    private let loaded = Mutex<[String: WanPipeline]>([:])

    func pipeline(name: String, path: String) throws -> WanPipeline {
        if let pipeline = loaded.withLock({ $0[name] }) { return pipeline }
        let pipeline = try WanPipeline(folder: PipelineFolder(path: path))
        loaded.withLock { $0[name] = pipeline }
        return pipeline
    }
}

/// Runs CPU-heavy blocking work on its own thread, so the concurrency pool (two threads on a
/// two-core machine) stays free for requests, heartbeats and lease renewals.
public func runOnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 64 << 20
        thread.start()
    }
}
