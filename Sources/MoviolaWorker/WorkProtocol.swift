import Crypto
import Foundation

/// Identifies one attempt at one job; every write a worker makes carries it, so a write from an
/// attempt that has lost its lease is refused.
public struct JobTicket: Codable, Sendable, Equatable {
    public var jobID: String
    public var generationID: String
    public var attempt: Int
    public var worker: String

    public init(jobID: String, generationID: String, attempt: Int, worker: String) {
        self.jobID = jobID
        self.generationID = generationID
        self.attempt = attempt
        self.worker = worker
    }
}

/// A claimed job: what to render and with which marks.
public struct WorkAssignment: Codable, Sendable {
    public var ticket: JobTicket
    /// The model's name in the server's catalogue; the worker must have a folder of that name.
    public var model: String
    public var settings: RenderSettings
    public var marks: OutputMarks
    /// First frame (image-to-video), as the user sent it (PNG, JPEG, …).
    public var firstFrame: Data?
    /// Renew the lease at least this often.
    public var heartbeatSeconds: Double
    /// Send a preview image every this many steps.
    public var previewEvery: Int?
    /// Extension: the earlier clip (MP4); the new frames continue from its last frame and follow it in the file.
    public var earlierClip: Data?

    public init(ticket: JobTicket, model: String, settings: RenderSettings, marks: OutputMarks, firstFrame: Data? = nil,
                heartbeatSeconds: Double, previewEvery: Int? = nil) {
        self.ticket = ticket
        self.model = model
        self.settings = settings
        self.marks = marks
        self.firstFrame = firstFrame
        self.heartbeatSeconds = heartbeatSeconds
        self.previewEvery = previewEvery
    }
}

/// Where a running job is.
public struct WorkProgress: Codable, Sendable, Equatable {
    /// `loading`, `encoding_text`, `denoising`, `decoding`, `encoding_video`.
    public var stage: String
    public var step: Int
    public var totalSteps: Int
    /// A new preview JPEG since the last heartbeat, if any.
    public var preview: Data?

    public init(stage: String, step: Int = 0, totalSteps: Int = 0, preview: Data? = nil) {
        self.stage = stage
        self.step = step
        self.totalSteps = totalSteps
        self.preview = preview
    }
}

/// The server's answer to a heartbeat.
public enum HeartbeatReply: String, Codable, Sendable {
    /// Lease renewed: carry on.
    case proceed
    /// The user cancelled: stop and acknowledge with `fail(… .cancelled)`.
    case cancel
    /// This attempt no longer holds the job (it expired and was given to another worker): stop, write nothing.
    case lost
}

/// Why a job did not finish.
public struct WorkFailure: Codable, Sendable, Error, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The request cannot work (bad settings, an image that does not decode): not retried.
        case invalid
        /// Infrastructure (out of memory, a missing model, a crash): retried with backoff.
        case infrastructure
        /// Stopped because the user cancelled.
        case cancelled
        /// The worker is shutting down: the job goes back to the queue at once.
        case released
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// What the worker measured, sent with the finished file.
public struct RenderReport: Codable, Sendable, Equatable {
    public var framesWritten: Int
    public var framesSHA256: String
    public var renderSeconds: Double
    public var engineVersion: String
    public var threads: Int

    public init(framesWritten: Int, framesSHA256: String, renderSeconds: Double, engineVersion: String, threads: Int) {
        self.framesWritten = framesWritten
        self.framesSHA256 = framesSHA256
        self.renderSeconds = renderSeconds
        self.engineVersion = engineVersion
        self.threads = threads
    }
}

/// Why the server refused a write from a worker.
public struct StaleLeaseError: Error, CustomStringConvertible, Sendable {
    public var ticket: JobTicket
    public init(_ ticket: JobTicket) { self.ticket = ticket }
    public var description: String {
        "job \(ticket.jobID) attempt \(ticket.attempt) is no longer held by \(ticket.worker); the write was refused"
    }
}

/// Where a worker gets work and returns results: the server's queue in-process, or the internal
/// HTTP API from another host.
public protocol JobSource: Sendable {
    /// The next job for `worker`, or nil when none is ready.
    func claim(worker: String) async throws -> WorkAssignment?
    func heartbeat(_ ticket: JobTicket, progress: WorkProgress) async throws -> HeartbeatReply
    /// Hands over the finished file; the server verifies it, signs it and publishes it.
    /// Throws `StaleLeaseError` when the attempt no longer holds the job.
    func complete(_ ticket: JobTicket, video: URL, report: RenderReport) async throws
    func fail(_ ticket: JobTicket, failure: WorkFailure) async throws
    /// Returns when new work may be ready (a wake-up, or after a polling interval).
    func waitForWork() async throws
}

/// The engine's version in replay receipts: a replay on the same version, model and settings gives the same frames.
public enum EngineVersion {
    public static let string = "moviola-engine/0.2.0"
}

/// A model folder's identity for replay receipts: SHA-256 over its files' sorted relative paths and contents.
public enum ModelFolderHash {
    public static func sha256(_ path: String) throws -> String {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: path) else { throw WorkFailure(.infrastructure, "cannot read the model folder \(path)") }
        var files: [String] = []
        for case let relative as String in enumerator {
            var isDirectory: ObjCBool = false
            let full = (path as NSString).appendingPathComponent(relative)
            let hidden = relative.split(separator: "/").contains { $0.hasPrefix(".") }
            if manager.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue, !hidden { files.append(relative) }
        }
        var hash = SHA256()
        for relative in files.sorted() {
            hash.update(data: Data(relative.utf8))
            guard let handle = FileHandle(forReadingAtPath: (path as NSString).appendingPathComponent(relative)) else { continue }
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
