import Foundation
import Logging
import MoviolaStore
import Synchronization
import Testing

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let now = Mutex<Double>(1_800_000_000)
    func read() -> Double { now.withLock { $0 } }
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
}

enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite, postgres
    var description: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["MOVIOLA_TEST_POSTGRES_URL"] }

    /// PostgreSQL runs when the test script started one; `make test` sets MOVIOLA_REQUIRE_POSTGRES so it cannot be skipped there.
    static var available: [Backend] {
        if postgresURL != nil || ProcessInfo.processInfo.environment["MOVIOLA_REQUIRE_POSTGRES"] != nil { return [.sqlite, .postgres] }
        return [.sqlite]
    }
}

/// Opens a fresh, migrated store on `backend`, keeps its connections running for `body`, then closes it.
func withStore<T: Sendable>(_ backend: Backend, leaseSeconds: Double = 30, clock: TestClock = TestClock(),
                            sqlitePath: String? = nil, reset: Bool = true,
                            _ body: @Sendable (Store) async throws -> T) async throws -> T {
    let logger = Logger(label: "test")
    let database: any StoreDatabase
    switch backend {
    case .sqlite:
        let path = sqlitePath ?? NSTemporaryDirectory() + "moviola-store-\(UUID().uuidString).sqlite"
        database = try await openStoreDatabase(url: "sqlite:" + path, logger: logger)
    case .postgres:
        let url = try #require(Backend.postgresURL, "MOVIOLA_TEST_POSTGRES_URL is not set: run the tests through `make test`, which starts PostgreSQL")
        database = try await openStoreDatabase(url: url, logger: logger)
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await database.run() }
        defer { group.cancelAll() }
        if backend == .postgres && reset {
            try await database.withConnection { db in
                try await db.raw("DROP SCHEMA public CASCADE").run()
                try await db.raw("CREATE SCHEMA public").run()
            }
        }
        let store = Store(database: database, leaseSeconds: leaseSeconds, clock: { clock.read() })
        try await store.migrate()
        let result = try await body(store)
        await database.close()
        return result
    }
}

func newGeneration(_ n: Int, priority: Int = 0, key: String? = nil, account: String = "local", maxAttempts: Int = 3) -> NewGeneration {
    NewGeneration(id: "gen_\(n)_\(UUID().uuidString.prefix(8))", account: account, produceID: "MV-\(UUID().uuidString.prefix(16))",
                  contentID: UInt64.random(in: 0...UInt64.max), model: "moviola-mini", request: #"{"prompt":"p\#(n)"}"#,
                  priority: priority, idempotencyKey: key, maxAttempts: maxAttempts)
}

@Suite("Store conformance (SQLite and PostgreSQL)", .serialized)
struct StoreConformanceTests {
    @Test("migrations are versioned and run once", arguments: Backend.available)
    func migrations(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let again = try await Migrations.run(on: store.database)
            #expect(again.isEmpty)
            let versions = try await store.database.withConnection { db in
                try await db.raw("SELECT version FROM schema_migrations ORDER BY version").all().map { try $0.decode(column: "version", as: Int.self) }
            }
            #expect(versions == Migrations.all.map(\.version))
        }
    }

    @Test("a generation and its job are written together; a repeated idempotency key returns the first", arguments: Backend.available)
    func idempotency(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let first = try await store.createGeneration(newGeneration(1, key: "abc"))
            #expect(first.created)
            #expect(first.generation.state == .queued)
            let second = try await store.createGeneration(newGeneration(2, key: "abc"))
            #expect(!second.created)
            #expect(second.generation.id == first.generation.id)
            // Another account may use the same key.
            let other = try await store.createGeneration(newGeneration(3, key: "abc", account: "someone-else"))
            #expect(other.created)
            // Concurrent requests with one key still make one generation.
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for n in 0..<8 { group.addTask { try await store.createGeneration(newGeneration(10 + n, key: "race")).generation.id } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let events = try await store.events(generationID: first.generation.id)
            #expect(events.map(\.kind) == ["queued"])
            #expect(try await store.stats().readyJobs == 3)
        }
    }

    @Test("two workers never hold one job", arguments: Backend.available)
    func exclusiveClaims(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            for n in 0..<20 { _ = try await store.createGeneration(newGeneration(n)) }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for w in 0..<6 {
                    group.addTask {
                        var mine: [String] = []
                        while let job = try await store.claim(worker: "w\(w)", models: ["moviola-mini"]) { mine.append(job.jobID) }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claimed.count == 20)
            #expect(Set(claimed).count == 20)
            #expect(try await store.claim(worker: "late", models: []) == nil)
            // A worker without the model gets nothing.
            _ = try await store.createGeneration(newGeneration(99))
            #expect(try await store.claim(worker: "w", models: ["wan2.1-t2v-1.3b"]) == nil)
        }
    }

    @Test("priority first, then age; queue positions follow", arguments: Backend.available)
    func priorities(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, clock: clock) { store in
            let low = try await store.createGeneration(newGeneration(1)).generation
            clock.advance(1)
            let low2 = try await store.createGeneration(newGeneration(2)).generation
            clock.advance(1)
            let high = try await store.createGeneration(newGeneration(3, priority: 5)).generation
            #expect(try await store.queuePosition(generationID: high.id) == 0)
            #expect(try await store.queuePosition(generationID: low.id) == 1)
            #expect(try await store.queuePosition(generationID: low2.id) == 2)
            let order = [try await store.claim(worker: "w", models: []), try await store.claim(worker: "w", models: []),
                         try await store.claim(worker: "w", models: [])].map { $0?.generation.id }
            #expect(order == [high.id, low.id, low2.id])
            #expect(try await store.queuePosition(generationID: low.id) == nil)
        }
    }

    @Test("an expired lease is rescued and the stale worker's writes are refused", arguments: Backend.available)
    func leaseRescueAndFencing(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, leaseSeconds: 30, clock: clock) { store in
            let generation = try await store.createGeneration(newGeneration(1)).generation
            let stale = try #require(try await store.claim(worker: "killed", models: []))
            #expect(stale.attempt == 1)
            #expect(try await store.heartbeat(jobID: stale.jobID, worker: "killed", attempt: 1, stage: "denoising", step: 1, totalSteps: 4) == .proceed)
            clock.advance(20)
            #expect(try await store.rescueExpiredLeases() == 0)
            clock.advance(31)
            #expect(try await store.rescueExpiredLeases() == 1)
            #expect(try await store.generation(id: generation.id)?.state == .queued)
            let fresh = try #require(try await store.claim(worker: "healthy", models: []))
            #expect(fresh.jobID == stale.jobID)
            #expect(fresh.attempt == 2)
            #expect(try await store.heartbeat(jobID: stale.jobID, worker: "killed", attempt: 1, stage: "denoising", step: 2, totalSteps: 4) == .leaseLost)
            await #expect(throws: LeaseLostError.self) {
                _ = try await store.complete(jobID: stale.jobID, worker: "killed", attempt: 1,
                                             video: .init(key: "stale.mp4", bytes: 1, sha256: "00"), receipt: "{}")
            }
            await #expect(throws: LeaseLostError.self) {
                try await store.fail(jobID: stale.jobID, worker: "killed", attempt: 1, disposition: .final(code: "x"), message: "late")
            }
            // The same worker name with the old attempt is refused too.
            #expect(try await store.heartbeat(jobID: stale.jobID, worker: "healthy", attempt: 1, stage: nil, step: 0, totalSteps: 0) == .leaseLost)
            let state = try await store.complete(jobID: fresh.jobID, worker: "healthy", attempt: 2,
                                                 video: .init(key: "good.mp4", bytes: 10, sha256: "ab"), receipt: #"{"seed":1}"#)
            #expect(state == .succeeded)
            let done = try #require(try await store.generation(id: generation.id))
            #expect(done.state == .succeeded)
            #expect(done.videoKey == "good.mp4")
            #expect(done.attempts == 2)
            let kinds = try await store.events(generationID: generation.id).map(\.kind)
            #expect(kinds == ["queued", "started", "progress", "retrying", "started", "succeeded"])
        }
    }

    @Test("retries back off for infrastructure failures and stop at the limit; final failures do not retry", arguments: Backend.available)
    func retries(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, clock: clock) { store in
            let flaky = try await store.createGeneration(newGeneration(1, maxAttempts: 2)).generation
            let first = try #require(try await store.claim(worker: "w", models: []))
            #expect(try await store.fail(jobID: first.jobID, worker: "w", attempt: 1, disposition: .retry(code: "out_of_memory"), message: "oom") == .queued)
            #expect(try await store.claim(worker: "w", models: []) == nil, "the retry waits for its backoff")
            clock.advance(7)
            let second = try #require(try await store.claim(worker: "w", models: []))
            #expect(second.attempt == 2)
            #expect(try await store.fail(jobID: second.jobID, worker: "w", attempt: 2, disposition: .retry(code: "out_of_memory"), message: "oom") == .failed)
            let failed = try #require(try await store.generation(id: flaky.id))
            #expect(failed.errorCode == "out_of_memory")

            let bad = try await store.createGeneration(newGeneration(2)).generation
            let job = try #require(try await store.claim(worker: "w", models: []))
            #expect(try await store.fail(jobID: job.jobID, worker: "w", attempt: 1, disposition: .final(code: "invalid_image"), message: "no") == .failed)
            #expect(try await store.generation(id: bad.id)?.state == .failed)

            // A worker that shuts down releases its job without using up an attempt.
            let released = try await store.createGeneration(newGeneration(3, maxAttempts: 1)).generation
            let running = try #require(try await store.claim(worker: "w", models: []))
            #expect(try await store.fail(jobID: running.jobID, worker: "w", attempt: 1, disposition: .release, message: "shutdown") == .queued)
            let again = try #require(try await store.claim(worker: "w2", models: []))
            #expect(again.generation.id == released.id)
            #expect(again.attempt == 1)
        }
    }

    @Test("cancelling a queued job ends it at once; a running one is flagged and stops", arguments: Backend.available)
    func cancellation(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let running = try await store.createGeneration(newGeneration(1, priority: 1)).generation
            let queued = try await store.createGeneration(newGeneration(2)).generation
            let job = try #require(try await store.claim(worker: "w", models: []))
            #expect(job.generation.id == running.id)
            #expect(try await store.requestCancel(generationID: queued.id)?.state == .cancelled)
            #expect(try await store.claim(worker: "w2", models: []) == nil)
            #expect(try await store.requestCancel(generationID: running.id)?.state == .running)
            #expect(try await store.heartbeat(jobID: job.jobID, worker: "w", attempt: 1, stage: "denoising", step: 3, totalSteps: 10) == .cancelRequested)
            #expect(try await store.fail(jobID: job.jobID, worker: "w", attempt: 1, disposition: .cancelled, message: "cancelled") == .cancelled)
            let final = try #require(try await store.generation(id: running.id))
            #expect(final.state == .cancelled)
            #expect(try await store.requestCancel(generationID: running.id)?.state == .cancelled, "cancelling twice is harmless")
            #expect(try await store.requestCancel(generationID: "gen_missing") == nil)
            // A job that finishes after the user cancelled is not published.
            let late = try await store.createGeneration(newGeneration(3)).generation
            let lateJob = try #require(try await store.claim(worker: "w", models: []))
            _ = try await store.requestCancel(generationID: late.id)
            #expect(try await store.complete(jobID: lateJob.jobID, worker: "w", attempt: 1,
                                             video: .init(key: "k", bytes: 1, sha256: "00"), receipt: "{}") == .cancelled)
            #expect(try await store.generation(id: late.id)?.videoKey == nil)
        }
    }

    @Test("events are numbered without gaps and resume after a given ID; paging lists newest first", arguments: Backend.available)
    func eventsAndPaging(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, clock: clock) { store in
            var ids: [String] = []
            for n in 0..<5 {
                ids.append(try await store.createGeneration(newGeneration(n)).generation.id)
                clock.advance(1)
            }
            let job = try #require(try await store.claim(worker: "w", models: []))
            for step in 1...3 {
                _ = try await store.heartbeat(jobID: job.jobID, worker: "w", attempt: 1, stage: "denoising", step: step, totalSteps: 3,
                                              previewJPEGBase64: step == 3 ? "AAAA" : nil)
            }
            _ = try await store.heartbeat(jobID: job.jobID, worker: "w", attempt: 1, stage: "denoising", step: 3, totalSteps: 3)
            let events = try await store.events(generationID: job.generation.id)
            #expect(events.map(\.seq) == Array(1...events.count))
            #expect(events.map(\.kind) == ["queued", "started", "progress", "progress", "progress", "preview"])
            #expect(try await store.events(generationID: job.generation.id, after: 4).map(\.seq) == [5, 6])
            let page1 = try await store.generations(account: "local", limit: 2)
            #expect(page1.map(\.id) == [ids[4], ids[3]])
            let last = try #require(page1.last)
            let page2 = try await store.generations(account: "local", limit: 2, before: (last.createdAt, last.id))
            #expect(page2.map(\.id) == [ids[2], ids[1]])
            #expect(try await store.generations(account: "local", state: .running, limit: 10).map(\.id) == [job.generation.id])
        }
    }

    @Test("API keys are stored hashed and can be revoked", arguments: Backend.available)
    func apiKeys(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let (record, secret) = try await store.createAPIKey(name: "ci", scope: "api")
            #expect(secret.hasPrefix("mvk_"))
            #expect(try await store.apiKey(secret: secret)?.id == record.id)
            #expect(try await store.apiKey(secret: secret + "x") == nil)
            let stored = try await store.database.withConnection { db in
                try await db.raw("SELECT secret_sha256 FROM api_keys").all().map { try $0.decode(column: "secret_sha256", as: String.self) }
            }
            #expect(!stored.contains(secret))
            #expect(try await store.revokeAPIKey(id: record.id))
            #expect(try await store.apiKey(secret: secret) == nil)
            #expect(!(try await store.revokeAPIKey(id: record.id)))
        }
    }

    @Test("a restarted store keeps every job", arguments: Backend.available)
    func restart(_ backend: Backend) async throws {
        let path = NSTemporaryDirectory() + "moviola-restart-\(UUID().uuidString).sqlite"
        let ids = try await withStore(backend, sqlitePath: path) { store in
            var ids: [String] = []
            for n in 0..<4 { ids.append(try await store.createGeneration(newGeneration(n)).generation.id) }
            _ = try await store.claim(worker: "before-restart", models: [])
            return ids
        }
        try await withStore(backend, sqlitePath: path, reset: false) { store in
            let all = try await store.generations(account: "local", limit: 10)
            #expect(Set(all.map(\.id)) == Set(ids))
            let stats = try await store.stats()
            #expect(stats.readyJobs == 3)
            #expect(stats.runningJobs == 1)
        }
    }

    @Test("retention finds old videos and keeps the record when one is deleted", arguments: Backend.available)
    func retention(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, clock: clock) { store in
            let old = try await store.createGeneration(newGeneration(1)).generation
            let job = try #require(try await store.claim(worker: "w", models: []))
            _ = try await store.complete(jobID: job.jobID, worker: "w", attempt: 1, video: .init(key: "videos/old.mp4", bytes: 5, sha256: "aa"), receipt: "{}")
            clock.advance(100)
            #expect(try await store.videosFinished(before: clock.read() - 200).isEmpty)
            let due = try await store.videosFinished(before: clock.read() - 50)
            #expect(due.map(\.id) == [old.id] && due.map(\.key) == ["videos/old.mp4"])
            try await store.markVideoDeleted(generationID: old.id)
            let after = try #require(try await store.generation(id: old.id))
            #expect(after.videoKey == nil && after.videoDeletedAt == clock.read() && after.state == .succeeded && after.receipt == "{}")
            #expect(try await store.videosFinished(before: clock.read()).isEmpty)
        }
    }
}
