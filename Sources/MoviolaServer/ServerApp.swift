import Foundation
import Hummingbird
import Logging
import MoviolaMedia
import MoviolaProvenance
import MoviolaSafety
import MoviolaStore
import MoviolaWorker
import ServiceLifecycle
import Synchronization

/// How `moviola serve` runs.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Holds the SQLite database, stored videos and inputs, scratch files and the signing CA.
    public var dataDirectory: String
    /// `postgres://…`; nil uses SQLite in the data folder.
    public var databaseURL: String?
    /// `s3://BUCKET?endpoint=…&region=…`; nil keeps videos under the data folder.
    public var storageURL: String? = nil
    /// Delete videos this many days after they finish (nil: keep them forever, the default).
    public var retentionDays: Double? = nil
    /// The content policy file (nil: the shipped default); it is reloaded when it changes or on SIGHUP.
    public var policyPath: String? = nil
    public var models: [(name: String, path: String)]
    /// In-process workers (0: only remote `moviola worker`s render).
    public var workers: Int
    public var requireAPIKeys: Bool
    public var leaseSeconds: Double
    public var threads: Int?
    public var plane: ControlPlaneSettings
    public var accounts = AccountSettings()
    /// The URL clients use to reach the server (default: http://HOST:PORT).
    public var publicURL: String? = nil

    public init(host: String, port: Int, dataDirectory: String, databaseURL: String?, models: [(name: String, path: String)],
                workers: Int, requireAPIKeys: Bool, leaseSeconds: Double, threads: Int?, plane: ControlPlaneSettings) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.models = models
        self.workers = workers
        self.requireAPIKeys = requireAPIKeys
        self.leaseSeconds = leaseSeconds
        self.threads = threads
        self.plane = plane
    }

    public var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(host) }
    public var databaseLocation: String { databaseURL ?? "sqlite:" + (dataDirectory as NSString).appendingPathComponent("moviola.sqlite") }
}

/// A long-lived loop run as a `Service` and cancelled on graceful shutdown.
struct LoopService: Service {
    let name: String
    let body: @Sendable () async throws -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            // Cancellation is how these loops end at shutdown, not a failure of the service.
        }
    }
}

/// Builds and runs the whole service: database, control plane, HTTP server, lease rescuer and workers.
public enum MoviolaServer {
    /// Opens the store (running migrations) and returns it with the database to keep running.
    public static func openStore(url: String, leaseSeconds: Double, logger: Logger) async throws -> Store {
        let database = try await openStoreDatabase(url: url, logger: logger)
        return Store(database: database, leaseSeconds: leaseSeconds)
    }

    public static func run(_ configuration: ServerConfiguration, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = try await openStore(url: configuration.databaseLocation, leaseSeconds: configuration.leaseSeconds, logger: logger)
        do {
            try await serve(configuration, store: store, logger: logger, onListening: onListening)
        } catch {
            await store.database.close()
            throw error
        }
        await store.database.close()
    }

    static func serve(_ configuration: ServerConfiguration, store: Store, logger: Logger,
                      onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let data = configuration.dataDirectory
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.database.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            let catalogue = try ModelCatalogue(folders: configuration.models)
            let storage: any ObjectStorage
            if let url = configuration.storageURL {
                storage = try S3Storage(url: url, cacheDirectory: (data as NSString).appendingPathComponent("storage-cache"))
            } else {
                storage = try LocalDiskStorage(root: (data as NSString).appendingPathComponent("storage"))
            }
            let authority = CertificateAuthority(directory: (data as NSString).appendingPathComponent("ca"))
            let (identity, created) = try authority.loadOrCreate(organization: "Moviola operator")
            if created { logger.notice("created a private signing CA in \(authority.directory) (`moviola ca root` prints the root for verifiers)") }
            let scratch = (data as NSString).appendingPathComponent("tmp")
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let policies = try PolicyStore(path: configuration.policyPath)
            let plane = ControlPlane(store: store, catalogue: catalogue, storage: storage, identity: identity,
                                     settings: configuration.plane, policies: policies, faces: try HaarCascade(), metrics: ServiceMetrics(),
                                     scratchDirectory: scratch, logger: logger)
            try await store.audit("server.started", actor: "operator",
                                  data: ["engine": EngineVersion.string, "visible_label": configuration.plane.labelText != nil,
                                         "signup": configuration.accounts.signup.rawValue, "policy_version": policies.policy.policy.version])
            if configuration.plane.labelText == nil {
                try AuditTrail.append(directory: data, ["event": "visible_label_disabled_for_service",
                                                        "reason": "operator setting --operator-disable-visible-label"])
                try await store.audit("visible_label.disabled", actor: "operator", data: ["reason": "operator setting --operator-disable-visible-label"])
            }
            let apiAccess: APIAccess = configuration.requireAPIKeys || !configuration.isLoopback ? .keys : .open
            let secrets = try SecretBox(keyFile: (data as NSString).appendingPathComponent("secrets.key"))
            let access = AccessControl(store: store, access: apiAccess, secrets: secrets, settings: configuration.accounts)
            let router = Router(context: MoviolaRequestContext.self)
            let boundPort = Atomic<Int>(configuration.port)
            let publicURL = configuration.publicURL
            let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
            let routes = Routes(plane: plane, access: access, logger: logger,
                                baseURL: { publicURL ?? "http://\(host):\(boundPort.load(ordering: .relaxed))" })
            routes.register(on: router)

            var services: [any Service] = []
            let rescueEvery = max(1, min(5, configuration.leaseSeconds / 3))
            services.append(LoopService(name: "rescuer") {
                while !Task.isCancelled {
                    do {
                        let rescued = try await store.rescueExpiredLeases()
                        if rescued > 0 {
                            logger.warning("requeued \(rescued) job(s) whose worker stopped renewing its lease")
                            plane.metrics.increment("moviola_leases_expired_total", by: rescued)
                            plane.jobsPulse.fire()
                            plane.eventsPulse.fire()
                        }
                    } catch {
                        logger.error("lease rescue failed: \(error)")
                    }
                    try await Task.sleep(for: .seconds(rescueEvery))
                }
            })
            let dispatcher = WebhookDispatcher(store: store, retryBaseSeconds: configuration.accounts.webhookRetryBaseSeconds, logger: logger,
                                               payload: { delivery in try await routes.webhookBody(delivery) },
                                               secret: { account in try await routes.webhookSecret(account: account) },
                                               pulse: plane.webhookPulse)
            services.append(LoopService(name: "webhooks") { try await dispatcher.run() })
            let signer = plane.auditSigner
            let checkpointEvery = configuration.accounts.auditCheckpointSeconds
            let auditRetention = configuration.accounts.auditRetentionDays * 86_400
            services.append(LoopService(name: "audit") {
                while !Task.isCancelled {
                    do {
                        try await signer.checkpoint(store)
                        let pruned = try await store.pruneAudit(before: Date().timeIntervalSince1970 - auditRetention)
                        if pruned > 0 { logger.notice("audit log: pruned the bodies of \(pruned) entries past the retention period (their hashes stay)") }
                    } catch {
                        logger.error("audit checkpoint failed: \(error)")
                    }
                    try await Task.sleep(for: .seconds(max(1, checkpointEvery)))
                }
            })
            if let path = configuration.policyPath {
                services.append(LoopService(name: "policy-reload") {
                    try await PolicyWatcher(path: path, policies: policies, logger: logger).run()
                })
            }
            if let days = configuration.retentionDays {
                let seconds = days * 86_400
                services.append(LoopService(name: "retention") {
                    while !Task.isCancelled {
                        do {
                            for (id, key) in try await store.videosFinished(before: Date().timeIntervalSince1970 - seconds) {
                                try await storage.delete(key: key)
                                try await store.markVideoDeleted(generationID: id)
                                try AuditTrail.append(directory: data, ["event": "video_deleted", "generation_id": id,
                                                                        "reason": "retention policy of \(days) days"])
                                plane.metrics.increment("moviola_videos_deleted_total")
                            }
                        } catch {
                            logger.error("retention sweep failed: \(error)")
                        }
                        try await Task.sleep(for: .seconds(max(1, min(3600, seconds / 4))))
                    }
                })
            }
            if let notifications = store.database.notifications(channel: Store.jobsChannel) {
                services.append(LoopService(name: "listen") {
                    for await _ in notifications { plane.jobsPulse.fire() }
                })
            }
            for index in 0..<configuration.workers {
                let worker = Worker(source: plane, models: catalogue.folders, workerID: Worker.makeID(prefix: "local\(index)"),
                                    threads: configuration.threads, scratchDirectory: scratch, logger: logger)
                services.append(LoopService(name: "worker\(index)") { await worker.run() })
            }
            let app = Application(
                router: router,
                configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Moviola"),
                services: services,
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? configuration.port
                    boundPort.store(port, ordering: .relaxed)
                    await onListening(port)
                },
                logger: logger)
            logger.notice("Moviola on http://\(configuration.host):\(configuration.port) — \(store.database.displayName), \(storage.displayName), models \(catalogue.models.map(\.name).joined(separator: ", ")), policy \(policies.policy.policy.version), \(configuration.workers) in-process worker(s), API \(apiAccess == .open ? "open (loopback)" : "needs API keys or a log-in"), sign-up \(configuration.accounts.signup.rawValue), videos \(configuration.retentionDays.map { "deleted \($0) days after they finish" } ?? "kept forever")")
            let outcome: Result<Void, any Error>
            do { try await app.runService(); outcome = .success(()) } catch { outcome = .failure(error) }
            // The last entries get a signed checkpoint, and the database closes cleanly.
            do { try await signer.checkpoint(store) } catch { logger.error("final audit checkpoint failed: \(error)") }
            try outcome.get()
        }
    }
}

/// The operator audit trail in the data folder (JSON lines).
public enum AuditTrail {
    public static func append(directory: String, _ fields: [String: String]) throws {
        var record = fields
        record["time"] = ISO8601DateFormatter().string(from: Date())
        let line = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) + Data("\n".utf8)
        let path = (directory as NSString).appendingPathComponent("audit.log")
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ServiceError(.internal, "cannot write \(path)") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}

/// Reloads the policy file when it changes (checked every two seconds) or on SIGHUP; a file that does
/// not load is logged with its line and the previous policy stays active.
struct PolicyWatcher: Sendable {
    let path: String
    let policies: PolicyStore
    let logger: Logger

    func run() async throws {
        let hangups = AsyncStream<Void> { continuation in
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP)
            source.setEventHandler { continuation.yield() }
            source.resume()
            nonisolated(unsafe) let handle = source  // cancelled once, when the stream ends
            continuation.onTermination = { _ in handle.cancel() }
        }
        let path = self.path
        @Sendable func modified() -> Date? { (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        let initial = modified()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups { reload("SIGHUP") }
            }
            group.addTask {
                var last = initial
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(2))
                    let now = modified()
                    if now != last {
                        last = now
                        reload("the file changed")
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func reload(_ why: String) {
        switch policies.reload() {
        case .success(let version): logger.notice("policy reloaded (\(why)): version \(version)")
        case .failure(let error): logger.error("policy not reloaded (\(why)); the previous one stays active: \(error)")
        }
    }
}
