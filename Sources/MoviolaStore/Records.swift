import Foundation
import SQLKit

/// Where a generation is in its life.
public enum GenerationState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// One row of `generations`: the user-facing record of a request and its result.
public struct GenerationRecord: Sendable, Equatable {
    public var id: String
    public var account: String
    public var produceID: String
    public var contentID: UInt64
    public var state: GenerationState
    public var model: String
    /// The validated request as JSON (the server owns its shape).
    public var request: String
    public var priority: Int
    public var idempotencyKey: String?
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    public var stage: String?
    public var step: Int
    public var totalSteps: Int
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    public var videoKey: String?
    public var videoBytes: Int?
    public var videoSHA256: String?
    /// The replay receipt as JSON, once finished.
    public var receipt: String?
    public var eventSeq: Int
    /// When the operator's retention policy deleted the video (the record stays).
    public var videoDeletedAt: Double?
    /// Credits this generation costs if it succeeds (nothing is charged otherwise).
    public var cost: Int
    /// The client's own ID for the task (Kling's `external_task_id`), unique per account.
    public var externalTaskID: String?
    /// Where this generation's events are POSTed (`callback_url`).
    public var callbackURL: String?
    /// Which API created it: `native`, `openai` or `kling` (webhook bodies follow its shape).
    public var apiFlavor: String
    /// When the user deleted it (the record stays for the audit trail; it is no longer listed).
    public var deletedAt: Double?

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        account = try row.decode(column: "account", as: String.self)
        produceID = try row.decode(column: "produce_id", as: String.self)
        let content = try row.decode(column: "content_id", as: String.self)
        guard let parsed = UInt64(content) else { throw StoreError("generation \(id) has a malformed content_id \(content)") }
        contentID = parsed
        let stateText = try row.decode(column: "state", as: String.self)
        guard let parsedState = GenerationState(rawValue: stateText) else { throw StoreError("generation \(id) has an unknown state \(stateText)") }
        state = parsedState
        model = try row.decode(column: "model", as: String.self)
        request = try row.decode(column: "request", as: String.self)
        priority = try row.decode(column: "priority", as: Int.self)
        idempotencyKey = try row.decode(column: "idempotency_key", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        startedAt = try row.decode(column: "started_at", as: Double?.self)
        finishedAt = try row.decode(column: "finished_at", as: Double?.self)
        stage = try row.decode(column: "stage", as: String?.self)
        step = try row.decode(column: "step", as: Int.self)
        totalSteps = try row.decode(column: "total_steps", as: Int.self)
        attempts = try row.decode(column: "attempts", as: Int.self)
        errorCode = try row.decode(column: "error_code", as: String?.self)
        errorMessage = try row.decode(column: "error_message", as: String?.self)
        videoKey = try row.decode(column: "video_key", as: String?.self)
        videoBytes = try row.decode(column: "video_bytes", as: Int?.self)
        videoSHA256 = try row.decode(column: "video_sha256", as: String?.self)
        receipt = try row.decode(column: "receipt", as: String?.self)
        eventSeq = try row.decode(column: "event_seq", as: Int.self)
        videoDeletedAt = try row.decode(column: "video_deleted_at", as: Double?.self)
        cost = try row.decode(column: "cost", as: Int.self)
        externalTaskID = try row.decode(column: "external_task_id", as: String?.self)
        callbackURL = try row.decode(column: "callback_url", as: String?.self)
        apiFlavor = try row.decode(column: "api_flavor", as: String.self)
        deletedAt = try row.decode(column: "deleted_at", as: Double?.self)
    }
}

/// What a new generation needs.
public struct NewGeneration: Sendable {
    public var id: String
    public var account: String
    public var produceID: String
    public var contentID: UInt64
    public var model: String
    public var request: String
    public var priority: Int
    public var idempotencyKey: String?
    public var maxAttempts: Int
    public var cost: Int = 0
    public var externalTaskID: String? = nil
    public var callbackURL: String? = nil
    public var apiFlavor: String = "native"
    /// Limits checked in the queueing transaction (nil: none).
    public var admission: Admission? = nil

    public init(id: String, account: String, produceID: String, contentID: UInt64, model: String, request: String,
                priority: Int = 0, idempotencyKey: String? = nil, maxAttempts: Int = 3) {
        self.id = id
        self.account = account
        self.produceID = produceID
        self.contentID = contentID
        self.model = model
        self.request = request
        self.priority = priority
        self.idempotencyKey = idempotencyKey
        self.maxAttempts = maxAttempts
    }
}

/// One entry of a generation's event log (what the SSE stream replays; `seq` is the event ID).
public struct GenerationEvent: Sendable, Equatable {
    public var generationID: String
    public var seq: Int
    public var kind: String
    /// A JSON object.
    public var data: String
    public var createdAt: Double

    init(row: any SQLRow) throws {
        generationID = try row.decode(column: "generation_id", as: String.self)
        seq = try row.decode(column: "seq", as: Int.self)
        kind = try row.decode(column: "kind", as: String.self)
        data = try row.decode(column: "data", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
    }
}

/// A claimed job: the attempt's ticket and its generation.
public struct ClaimedJob: Sendable {
    public var jobID: String
    public var attempt: Int
    public var worker: String
    public var generation: GenerationRecord
}

/// A lease check failed: the job is no longer held by this worker and attempt.
public struct LeaseLostError: Error, CustomStringConvertible, Sendable {
    public var jobID: String
    public var attempt: Int
    public var description: String { "job \(jobID) attempt \(attempt) no longer holds its lease" }
}

/// How a failure is treated.
public enum FailureDisposition: Sendable {
    /// Final: the generation fails with this code (bad input, a refusal).
    case final(code: String)
    /// Infrastructure: retried with backoff while attempts remain, then failed.
    case retry(code: String)
    /// Released (shutdown): back to the queue at once, the attempt not counted against the limit.
    case release
    /// The user's cancellation, acknowledged.
    case cancelled
}

/// Counts for `/metrics` and `/readyz`.
public struct QueueStats: Sendable {
    public var generationsByState: [String: Int]
    public var readyJobs: Int
    public var runningJobs: Int
    public var oldestReadyAge: Double?
}

/// An API key row (the secret itself is never stored, only its SHA-256).
public struct APIKeyRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    /// `api` (the public API) or `worker` (the internal worker API).
    public var scope: String
    public var prefix: String
    public var createdAt: Double
    public var lastUsedAt: Double?
    public var revokedAt: Double?
    /// The account it acts for (nil: an operator key, which acts as its own account).
    public var accountID: String?
    /// For Kling-style AK/SK pairs: the access key (the JWT's `iss`).
    public var accessKey: String?

    /// The account requests made with this key belong to.
    public var account: String { accountID ?? id }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        accountID = try row.decode(column: "account_id", as: String?.self)
        accessKey = try row.decode(column: "access_key", as: String?.self)
        name = try row.decode(column: "name", as: String.self)
        scope = try row.decode(column: "scope", as: String.self)
        prefix = try row.decode(column: "prefix", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        lastUsedAt = try row.decode(column: "last_used_at", as: Double?.self)
        revokedAt = try row.decode(column: "revoked_at", as: Double?.self)
    }
}
