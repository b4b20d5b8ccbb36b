import Crypto
import Foundation
import SQLKit

/// The durable state of the service: generations, their jobs (a lease-based queue), their event
/// logs and API keys, on SQLite or PostgreSQL. Every write a worker makes after claiming a job is
/// fenced by the job's owner and attempt, so a worker that lost its lease cannot overwrite a newer result.
public struct Store: Sendable {
    public let database: any StoreDatabase
    /// Seconds since 1970 (injectable so tests can move time).
    public let clock: @Sendable () -> Double
    /// How long a claim or heartbeat holds a job.
    public let leaseSeconds: Double

    public static let jobsChannel = "moviola_jobs"

    public init(database: any StoreDatabase, leaseSeconds: Double = 30,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.database = database
        self.leaseSeconds = leaseSeconds
        self.clock = clock
    }

    public func migrate() async throws {
        try await Migrations.run(on: database, now: clock())
    }

    // MARK: generations

    /// Writes the generation, its job and its first event in one transaction. With an idempotency
    /// key already used by the account, returns the earlier generation instead (`created` false).
    public func createGeneration(_ new: NewGeneration) async throws -> (generation: GenerationRecord, created: Bool) {
        if let key = new.idempotencyKey, let earlier = try await generation(account: new.account, idempotencyKey: key) {
            return (earlier, false)
        }
        let now = clock()
        do {
            let record = try await database.transaction { db -> GenerationRecord in
                if let admission = new.admission {
                    try await admit(db, account: new.account, cost: new.cost, admission: admission)
                }
                if let external = new.externalTaskID,
                   try await db.raw("SELECT id FROM generations WHERE account = \(bind: new.account) AND external_task_id = \(bind: external)").first() != nil {
                    throw DuplicateExternalTaskID(externalTaskID: external)
                }
                try await db.raw("""
                    INSERT INTO generations (id, account, produce_id, content_id, state, model, request, priority, idempotency_key, created_at, stage,
                                             cost, external_task_id, callback_url, api_flavor)
                    VALUES (\(bind: new.id), \(bind: new.account), \(bind: new.produceID), \(bind: String(new.contentID)), 'queued',
                            \(bind: new.model), \(bind: new.request), \(bind: new.priority), \(bind: new.idempotencyKey), \(bind: now), 'queued',
                            \(bind: new.cost), \(bind: new.externalTaskID), \(bind: new.callbackURL), \(bind: new.apiFlavor))
                    """).run()
                try await db.raw("""
                    INSERT INTO jobs (id, generation_id, model, state, priority, attempt, max_attempts, run_at, created_at)
                    VALUES (\(bind: "job_" + new.id), \(bind: new.id), \(bind: new.model), 'available', \(bind: new.priority), 0,
                            \(bind: new.maxAttempts), \(bind: now), \(bind: now))
                    """).run()
                try await appendEvent(db, generationID: new.id, kind: "queued", data: ["state": "queued"], now: now)
                if database.kind == .postgres {
                    // Delivered on commit only, so a worker never wakes for a row it cannot see yet.
                    try await db.raw("SELECT pg_notify(\(bind: Self.jobsChannel), '')").run()
                }
                return try await fetchGeneration(db, id: new.id)!
            }
            return (record, true)
        } catch let error as QuotaExceeded {
            throw error
        } catch let error as DuplicateExternalTaskID {
            throw error
        } catch {
            // A concurrent request with the same key won the race: return its generation.
            if let key = new.idempotencyKey, let earlier = try await generation(account: new.account, idempotencyKey: key) {
                return (earlier, false)
            }
            throw error
        }
    }

    public func generation(id: String) async throws -> GenerationRecord? {
        try await database.withConnection { db in try await fetchGeneration(db, id: id) }
    }

    public func generation(account: String, idempotencyKey: String) async throws -> GenerationRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM generations WHERE account = \(bind: account) AND idempotency_key = \(bind: idempotencyKey)")
                .first().map(GenerationRecord.init(row:))
        }
    }

    /// Newest first; `before` is the (created_at, id) of the last item of the previous page.
    public func generations(account: String?, state: GenerationState? = nil, limit: Int,
                            before: (createdAt: Double, id: String)? = nil) async throws -> [GenerationRecord] {
        var query = SQLQueryString("SELECT * FROM generations WHERE deleted_at IS NULL")
        if let account { query = query + " AND account = \(bind: account)" }
        if let state { query = query + " AND state = \(bind: state.rawValue)" }
        if let before {
            query = query + " AND (created_at < \(bind: before.createdAt) OR (created_at = \(bind: before.createdAt) AND id < \(bind: before.id)))"
        }
        query = query + " ORDER BY created_at DESC, id DESC LIMIT \(literal: max(1, min(limit, 500)))"
        let finalQuery = query
        return try await database.withConnection { db in
            try await db.raw(finalQuery).all().map(GenerationRecord.init(row:))
        }
    }

    /// How many ready jobs run before this generation's (0 = next); nil unless it is queued.
    public func queuePosition(generationID: String) async throws -> Int? {
        try await database.withConnection { db in
            guard let job = try await db.raw("""
                SELECT priority, run_at, created_at, id FROM jobs WHERE generation_id = \(bind: generationID) AND state = 'available'
                """).first() else { return nil }
            let priority = try job.decode(column: "priority", as: Int.self)
            let runAt = try job.decode(column: "run_at", as: Double.self)
            let id = try job.decode(column: "id", as: String.self)
            return try await db.raw("""
                SELECT COUNT(*) AS ahead FROM jobs WHERE state = 'available' AND id <> \(bind: id) AND
                    (priority > \(bind: priority) OR (priority = \(bind: priority) AND (run_at < \(bind: runAt) OR (run_at = \(bind: runAt) AND id < \(bind: id)))))
                """).first()?.decode(column: "ahead", as: Int.self) ?? 0
        }
    }

    public func events(generationID: String, after seq: Int = 0) async throws -> [GenerationEvent] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT * FROM generation_events WHERE generation_id = \(bind: generationID) AND seq > \(bind: seq) ORDER BY seq
                """).all().map(GenerationEvent.init(row:))
        }
    }

    /// Asks for a generation to stop: a queued one is cancelled at once, a running one is flagged and its
    /// worker stops at its next heartbeat. Returns the generation afterwards (nil if there is none).
    public func requestCancel(generationID: String) async throws -> GenerationRecord? {
        let now = clock()
        return try await database.transaction { db -> GenerationRecord? in
            guard let job = try await db.raw("SELECT id, state FROM jobs WHERE generation_id = \(bind: generationID)\(unsafeRaw: lockClause)").first() else {
                return nil
            }
            let jobID = try job.decode(column: "id", as: String.self)
            switch try job.decode(column: "state", as: String.self) {
            case "available":
                try await db.raw("UPDATE jobs SET state = 'cancelled', finished_at = \(bind: now) WHERE id = \(bind: jobID)").run()
                try await db.raw("""
                    UPDATE generations SET state = 'cancelled', finished_at = \(bind: now), stage = 'cancelled',
                        error_code = 'cancelled', error_message = 'cancelled by the user before it started' WHERE id = \(bind: generationID)
                    """).run()
                try await appendEvent(db, generationID: generationID, kind: "cancelled", data: ["state": "cancelled"], now: now)
            case "running":
                let flagged = try await db.raw("SELECT cancel_requested FROM jobs WHERE id = \(bind: jobID)").first()?
                    .decode(column: "cancel_requested", as: Int.self) ?? 0
                if flagged == 0 {
                    try await db.raw("UPDATE jobs SET cancel_requested = 1 WHERE id = \(bind: jobID)").run()
                    try await appendEvent(db, generationID: generationID, kind: "cancelling", data: ["state": "running"], now: now)
                }
            default:
                break
            }
            return try await fetchGeneration(db, id: generationID)
        }
    }

    // MARK: the queue

    /// Claims the most urgent ready job for one of `models` (all models when empty) with a fresh lease.
    public func claim(worker: String, models: [String]) async throws -> ClaimedJob? {
        let now = clock()
        let lease = leaseSeconds
        return try await database.transaction { db -> ClaimedJob? in
            var pick = SQLQueryString("SELECT id FROM jobs WHERE state = 'available' AND run_at <= \(bind: now)")
            if !models.isEmpty { pick = pick + " AND model IN (\(binds: models.map { $0 as any Encodable & Sendable }))" }
            pick = pick + " ORDER BY priority DESC, run_at, created_at, id LIMIT 1"
            if database.kind == .postgres { pick = pick + " FOR UPDATE SKIP LOCKED" }
            let claimQuery: SQLQueryString = """
                UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = \(bind: worker),
                    lease_expires_at = \(bind: now + lease)
                WHERE state = 'available' AND id = (\(pick))
                RETURNING id, generation_id, attempt
                """
            guard let row = try await db.raw(claimQuery).first() else { return nil }
            let jobID = try row.decode(column: "id", as: String.self)
            let generationID = try row.decode(column: "generation_id", as: String.self)
            let attempt = try row.decode(column: "attempt", as: Int.self)
            try await db.raw("""
                UPDATE generations SET state = 'running', started_at = COALESCE(started_at, \(bind: now)), attempts = \(bind: attempt),
                    stage = 'starting', step = 0 WHERE id = \(bind: generationID)
                """).run()
            try await appendEvent(db, generationID: generationID, kind: "started",
                                  data: ["state": "running", "attempt": attempt], now: now)
            guard let generation = try await fetchGeneration(db, id: generationID) else {
                throw StoreError("job \(jobID) points at a missing generation \(generationID)")
            }
            return ClaimedJob(jobID: jobID, attempt: attempt, worker: worker, generation: generation)
        }
    }

    /// Outcome of a heartbeat.
    public enum HeartbeatOutcome: Sendable, Equatable {
        case proceed
        case cancelRequested
        case leaseLost
    }

    /// Renews the lease and records progress (an event when the step or stage changed, and a preview when given).
    public func heartbeat(jobID: String, worker: String, attempt: Int, stage: String?, step: Int, totalSteps: Int,
                          previewJPEGBase64: String? = nil) async throws -> HeartbeatOutcome {
        let now = clock()
        let lease = leaseSeconds
        return try await database.transaction { db -> HeartbeatOutcome in
            guard let row = try await db.raw("""
                UPDATE jobs SET lease_expires_at = \(bind: now + lease)
                WHERE id = \(bind: jobID) AND lease_owner = \(bind: worker) AND attempt = \(bind: attempt) AND state = 'running'
                RETURNING generation_id, cancel_requested
                """).first() else { return .leaseLost }
            let generationID = try row.decode(column: "generation_id", as: String.self)
            let cancel = try row.decode(column: "cancel_requested", as: Int.self) != 0
            if let stage {
                let current = try await db.raw("SELECT stage, step FROM generations WHERE id = \(bind: generationID)").first()
                let changed = try current?.decode(column: "stage", as: String?.self) != stage
                    || current?.decode(column: "step", as: Int.self) != step
                if changed {
                    try await db.raw("""
                        UPDATE generations SET stage = \(bind: stage), step = \(bind: step), total_steps = \(bind: totalSteps)
                        WHERE id = \(bind: generationID)
                        """).run()
                    try await appendEvent(db, generationID: generationID, kind: "progress",
                                          data: ["stage": stage, "step": step, "total_steps": totalSteps], now: now)
                }
            }
            if let previewJPEGBase64 {
                try await appendEvent(db, generationID: generationID, kind: "preview",
                                      data: ["step": step, "total_steps": totalSteps, "jpeg_base64": previewJPEGBase64], now: now)
            }
            return cancel ? .cancelRequested : .proceed
        }
    }

    /// True while `worker`'s `attempt` still holds the job.
    public func holdsLease(jobID: String, worker: String, attempt: Int) async throws -> Bool {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("""
                SELECT id FROM jobs WHERE id = \(bind: jobID) AND lease_owner = \(bind: worker) AND attempt = \(bind: attempt)
                    AND state = 'running' AND lease_expires_at >= \(bind: now)
                """).first() != nil
        }
    }

    /// The published result of a job.
    public struct Video: Sendable {
        public var key: String
        public var bytes: Int
        public var sha256: String
        public init(key: String, bytes: Int, sha256: String) {
            self.key = key
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// Marks the job done and the generation succeeded (fenced). If the user cancelled meanwhile the
    /// generation ends cancelled instead and the result is not published: the returned state says which.
    public func complete(jobID: String, worker: String, attempt: Int, video: Video, receipt: String) async throws -> GenerationState {
        let now = clock()
        return try await database.transaction { db -> GenerationState in
            guard let row = try await db.raw("""
                UPDATE jobs SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'succeeded' END, finished_at = \(bind: now)
                WHERE id = \(bind: jobID) AND lease_owner = \(bind: worker) AND attempt = \(bind: attempt) AND state = 'running'
                RETURNING generation_id, state
                """).first() else { throw LeaseLostError(jobID: jobID, attempt: attempt) }
            let generationID = try row.decode(column: "generation_id", as: String.self)
            if try row.decode(column: "state", as: String.self) == "cancelled" {
                try await markCancelled(db, generationID: generationID, now: now)
                return .cancelled
            }
            try await db.raw("""
                UPDATE generations SET state = 'succeeded', finished_at = \(bind: now), stage = 'done', step = total_steps,
                    video_key = \(bind: video.key), video_bytes = \(bind: video.bytes), video_sha256 = \(bind: video.sha256),
                    receipt = \(bind: receipt), error_code = NULL, error_message = NULL
                WHERE id = \(bind: generationID)
                """).run()
            try await appendEvent(db, generationID: generationID, kind: "succeeded",
                                  data: ["state": "succeeded", "video_bytes": video.bytes, "video_sha256": video.sha256], now: now)
            return .succeeded
        }
    }

    /// Records a failed attempt (fenced) and decides what follows; returns the generation's state afterwards.
    @discardableResult
    public func fail(jobID: String, worker: String, attempt: Int, disposition: FailureDisposition, message: String) async throws -> GenerationState {
        let now = clock()
        return try await database.transaction { db -> GenerationState in
            guard let row = try await db.raw("""
                SELECT generation_id, max_attempts, cancel_requested FROM jobs
                WHERE id = \(bind: jobID) AND lease_owner = \(bind: worker) AND attempt = \(bind: attempt) AND state = 'running'\(unsafeRaw: lockClause)
                """).first() else { throw LeaseLostError(jobID: jobID, attempt: attempt) }
            let generationID = try row.decode(column: "generation_id", as: String.self)
            let maxAttempts = try row.decode(column: "max_attempts", as: Int.self)
            let cancelRequested = try row.decode(column: "cancel_requested", as: Int.self) != 0
            var outcome = disposition
            if cancelRequested { outcome = .cancelled }
            switch outcome {
            case .cancelled:
                try await db.raw("UPDATE jobs SET state = 'cancelled', finished_at = \(bind: now) WHERE id = \(bind: jobID)").run()
                try await markCancelled(db, generationID: generationID, now: now)
                return .cancelled
            case .release:
                try await requeue(db, jobID: jobID, generationID: generationID, runAt: now, countAttempt: false,
                                  reason: message, now: now)
                return .queued
            case .retry(let code) where attempt < maxAttempts:
                let delay = Self.backoff(attempt: attempt)
                try await requeue(db, jobID: jobID, generationID: generationID, runAt: now + delay, countAttempt: true,
                                  reason: "\(code): \(message)", now: now)
                return .queued
            case .retry(let code), .final(let code):
                try await db.raw("""
                    UPDATE jobs SET state = 'failed', finished_at = \(bind: now), last_error = \(bind: message) WHERE id = \(bind: jobID)
                    """).run()
                try await markFailed(db, generationID: generationID, code: code, message: message, now: now)
                return .failed
            }
        }
    }

    /// Gives expired leases' jobs back to the queue (or fails them when out of attempts); returns how many.
    @discardableResult
    public func rescueExpiredLeases() async throws -> Int {
        let now = clock()
        return try await database.transaction { db -> Int in
            let expired = try await db.raw("""
                SELECT id, generation_id, attempt, max_attempts, cancel_requested, lease_owner FROM jobs
                WHERE state = 'running' AND lease_expires_at < \(bind: now)\(unsafeRaw: database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : "")
                """).all()
            for row in expired {
                let jobID = try row.decode(column: "id", as: String.self)
                let generationID = try row.decode(column: "generation_id", as: String.self)
                let attempt = try row.decode(column: "attempt", as: Int.self)
                let maxAttempts = try row.decode(column: "max_attempts", as: Int.self)
                let owner = try row.decode(column: "lease_owner", as: String?.self) ?? "?"
                if try row.decode(column: "cancel_requested", as: Int.self) != 0 {
                    try await db.raw("UPDATE jobs SET state = 'cancelled', finished_at = \(bind: now) WHERE id = \(bind: jobID)").run()
                    try await markCancelled(db, generationID: generationID, now: now)
                } else if attempt < maxAttempts {
                    try await requeue(db, jobID: jobID, generationID: generationID, runAt: now, countAttempt: true,
                                      reason: "worker \(owner) stopped renewing its lease", now: now)
                } else {
                    let message = "the job's worker stopped responding \(attempt) times; giving up"
                    try await db.raw("""
                        UPDATE jobs SET state = 'failed', finished_at = \(bind: now), last_error = \(bind: message) WHERE id = \(bind: jobID)
                        """).run()
                    try await markFailed(db, generationID: generationID, code: "worker_lost", message: message, now: now)
                }
            }
            return expired.count
        }
    }

    public func stats() async throws -> QueueStats {
        let now = clock()
        return try await database.withConnection { db in
            var byState: [String: Int] = [:]
            for row in try await db.raw("SELECT state, COUNT(*) AS n FROM generations GROUP BY state").all() {
                byState[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            let jobs = try await db.raw("""
                SELECT SUM(CASE WHEN state = 'available' THEN 1 ELSE 0 END) AS ready,
                       SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running,
                       MIN(CASE WHEN state = 'available' THEN created_at END) AS oldest
                FROM jobs
                """).first()
            let ready = try jobs?.decode(column: "ready", as: Int?.self) ?? 0
            let running = try jobs?.decode(column: "running", as: Int?.self) ?? 0
            let oldest = try jobs?.decode(column: "oldest", as: Double?.self)
            return QueueStats(generationsByState: byState, readyJobs: ready, runningJobs: running, oldestReadyAge: oldest.map { now - $0 })
        }
    }

    /// Retry delay after a failed attempt: 5 s doubling to at most 5 minutes, with ±20 % jitter.
    public static func backoff(attempt: Int) -> Double {
        let base = min(300, 5 * pow(2, Double(max(0, attempt - 1))))
        return base * Double.random(in: 0.8...1.2)
    }

    // MARK: helpers

    private var lockClause: String { database.kind == .postgres ? " FOR UPDATE" : "" }

    private func requeue(_ db: any SQLDatabase, jobID: String, generationID: String, runAt: Double, countAttempt: Bool,
                         reason: String, now: Double) async throws {
        try await db.raw("""
            UPDATE jobs SET state = 'available', run_at = \(bind: runAt), lease_owner = NULL, lease_expires_at = NULL,
                last_error = \(bind: reason)\(unsafeRaw: countAttempt ? "" : ", attempt = attempt - 1")
            WHERE id = \(bind: jobID)
            """).run()
        try await db.raw("UPDATE generations SET state = 'queued', stage = 'queued', step = 0 WHERE id = \(bind: generationID)").run()
        try await appendEvent(db, generationID: generationID, kind: "retrying",
                              data: ["state": "queued", "reason": reason, "retry_at": runAt], now: now)
    }

    private func markCancelled(_ db: any SQLDatabase, generationID: String, now: Double) async throws {
        try await db.raw("""
            UPDATE generations SET state = 'cancelled', finished_at = \(bind: now), stage = 'cancelled',
                error_code = 'cancelled', error_message = 'cancelled by the user' WHERE id = \(bind: generationID)
            """).run()
        try await appendEvent(db, generationID: generationID, kind: "cancelled", data: ["state": "cancelled"], now: now)
    }

    private func markFailed(_ db: any SQLDatabase, generationID: String, code: String, message: String, now: Double) async throws {
        try await db.raw("""
            UPDATE generations SET state = 'failed', finished_at = \(bind: now), stage = 'failed',
                error_code = \(bind: code), error_message = \(bind: message) WHERE id = \(bind: generationID)
            """).run()
        try await appendEvent(db, generationID: generationID, kind: "failed",
                              data: ["state": "failed", "code": code, "message": message], now: now)
    }

    func fetchGeneration(_ db: any SQLDatabase, id: String) async throws -> GenerationRecord? {
        try await db.raw("SELECT * FROM generations WHERE id = \(bind: id)").first().map(GenerationRecord.init(row:))
    }

    /// Appends to a generation's event log with the next sequence number (taken from the generation
    /// row, so it is gap-free and ordered under either database).
    @discardableResult
    func appendEvent(_ db: any SQLDatabase, generationID: String, kind: String, data: [String: any Sendable], now: Double) async throws -> Int {
        guard let seq = try await db.raw("""
            UPDATE generations SET event_seq = event_seq + 1 WHERE id = \(bind: generationID) RETURNING event_seq
            """).first()?.decode(column: "event_seq", as: Int.self) else {
            throw StoreError("no generation \(generationID) to log an event for")
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys]), as: UTF8.self)
        try await db.raw("""
            INSERT INTO generation_events (generation_id, seq, kind, data, created_at)
            VALUES (\(bind: generationID), \(bind: seq), \(bind: kind), \(bind: json), \(bind: now))
            """).run()
        try await enqueueWebhooks(db, generationID: generationID, seq: seq, kind: kind, data: data, now: now)
        return seq
    }

    /// Adds an event from outside the queue's own transitions (e.g. the server's publishing steps).
    public func appendEvent(generationID: String, kind: String, data: [String: any Sendable]) async throws {
        let now = clock()
        _ = try await database.transaction { db in
            try await appendEvent(db, generationID: generationID, kind: kind, data: data, now: now)
        }
    }

    /// The generation a client's own task ID names, for that account.
    public func generation(account: String, externalTaskID: String) async throws -> GenerationRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM generations WHERE account = \(bind: account) AND external_task_id = \(bind: externalTaskID)")
                .first().map(GenerationRecord.init(row:))
        }
    }

    /// Deletes a finished generation for its user: the record stays (hidden from lists) and the
    /// returned video key, if any, is for the caller to remove from storage.
    public func markDeleted(generationID: String) async throws -> String? {
        let now = clock()
        return try await database.transaction { db -> String? in
            let key = try await db.raw("SELECT video_key FROM generations WHERE id = \(bind: generationID)").first()?
                .decode(column: "video_key", as: String?.self)
            try await db.raw("""
                UPDATE generations SET deleted_at = \(bind: now), video_key = NULL,
                    video_deleted_at = CASE WHEN video_key IS NULL THEN video_deleted_at ELSE \(bind: now) END
                WHERE id = \(bind: generationID)
                """).run()
            try await appendEvent(db, generationID: generationID, kind: "deleted", data: ["reason": "deleted by the user"], now: now)
            return key
        }
    }

    // MARK: retention

    /// Succeeded generations finished before `cutoff` whose video is still stored: (id, storage key).
    public func videosFinished(before cutoff: Double, limit: Int = 100) async throws -> [(id: String, key: String)] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT id, video_key FROM generations
                WHERE state = 'succeeded' AND video_key IS NOT NULL AND finished_at < \(bind: cutoff)
                ORDER BY finished_at LIMIT \(literal: max(1, limit))
                """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "video_key", as: String.self)) }
        }
    }

    /// Records that a generation's video was deleted under the retention policy (the record stays).
    public func markVideoDeleted(generationID: String) async throws {
        let now = clock()
        _ = try await database.transaction { db in
            try await db.raw("""
                UPDATE generations SET video_key = NULL, video_deleted_at = \(bind: now) WHERE id = \(bind: generationID)
                """).run()
            try await appendEvent(db, generationID: generationID, kind: "video_deleted",
                                  data: ["reason": "the operator's retention policy"], now: now)
        }
    }

    // MARK: policy verdicts

    /// Records a refusal or a verdict to review (`review_state` `pending` for reviews and flagged accounts).
    public func recordVerdict(account: String, input: String?, allowed: Bool, action: String, category: String?, rule: String?,
                              policyVersion: String, prompt: String, verdictJSON: String, generationID: String? = nil,
                              reviewState: String) async throws {
        let now = clock()
        let id = "ver_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO policy_verdicts (id, account, input, allowed, action, category, rule, policy_version, prompt, verdict,
                    generation_id, review_state, created_at)
                VALUES (\(bind: String(id)), \(bind: account), \(bind: input), \(bind: allowed ? 1 : 0), \(bind: action), \(bind: category),
                    \(bind: rule), \(bind: policyVersion), \(bind: prompt), \(bind: verdictJSON), \(bind: generationID),
                    \(bind: reviewState), \(bind: now))
                """).run()
        }
    }

    /// Refusals of an account since a time (for rate-limiting repeated refusals).
    public func refusals(account: String, since: Double) async throws -> Int {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT COUNT(*) AS n FROM policy_verdicts WHERE account = \(bind: account) AND allowed = 0 AND created_at >= \(bind: since)
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Recorded verdicts (refusals and verdicts to review), newest first, or only those waiting for review:
    /// (id, account, action, category, prompt, created_at).
    public func verdicts(pendingOnly: Bool, limit: Int = 50) async throws -> [(id: String, account: String, action: String, category: String?, prompt: String, createdAt: Double)] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT id, account, action, category, prompt, created_at FROM policy_verdicts
                \(unsafeRaw: pendingOnly ? "WHERE review_state = 'pending'" : "")
                ORDER BY created_at DESC LIMIT \(literal: max(1, min(limit, 500)))
                """).all().map {
                    (try $0.decode(column: "id", as: String.self), try $0.decode(column: "account", as: String.self),
                     try $0.decode(column: "action", as: String.self), try $0.decode(column: "category", as: String?.self),
                     try $0.decode(column: "prompt", as: String.self), try $0.decode(column: "created_at", as: Double.self))
                }
        }
    }

    /// Records a reviewer's decision on a verdict (`reviewed` or `escalated`); false if there is none waiting.
    public func reviewVerdict(id: String, state: String) async throws -> Bool {
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE policy_verdicts SET review_state = \(bind: state) WHERE id = \(bind: id) AND review_state = 'pending' RETURNING id
                """).first() != nil
        }
    }

    // MARK: API keys

    /// Creates a key; the secret is returned once and only its SHA-256 is kept.
    public func createAPIKey(name: String, scope: String, accountID: String? = nil) async throws -> (record: APIKeyRecord, secret: String) {
        let body = Self.randomToken(32)
        let secret = (scope == "worker" ? "mvw_" : "mvk_") + body
        let id = "key_" + String(body.prefix(8)).lowercased() + String(Int(clock() * 1000) % 100000)
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO api_keys (id, name, scope, prefix, secret_sha256, created_at, account_id)
                VALUES (\(bind: id), \(bind: name), \(bind: scope), \(bind: String(secret.prefix(12))), \(bind: Self.sha256(secret)), \(bind: now),
                        \(bind: accountID))
                """).run()
        }
        guard let record = try await apiKeys().first(where: { $0.id == id }) else { throw StoreError("the new key \(id) did not save") }
        return (record, secret)
    }

    /// The live key a secret belongs to (nil for unknown or revoked keys).
    public func apiKey(secret: String) async throws -> APIKeyRecord? {
        let hash = Self.sha256(secret)
        let now = clock()
        return try await database.withConnection { db in
            guard let row = try await db.raw("SELECT * FROM api_keys WHERE secret_sha256 = \(bind: hash) AND revoked_at IS NULL").first() else {
                return nil
            }
            let record = try APIKeyRecord(row: row)
            if (record.lastUsedAt ?? 0) < now - 60 {
                try await db.raw("UPDATE api_keys SET last_used_at = \(bind: now) WHERE id = \(bind: record.id)").run()
            }
            return record
        }
    }

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM api_keys ORDER BY created_at, id").all().map(APIKeyRecord.init(row:))
        }
    }

    /// Revokes a key by ID; false if there is no such live key.
    public func revokeAPIKey(id: String) async throws -> Bool {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("UPDATE api_keys SET revoked_at = \(bind: now) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id").first() != nil
        }
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
