import ArgumentParser
import Foundation
import Logging
import MoviolaMedia
import MoviolaServer
import MoviolaStore
import MoviolaWorker

/// Options shared by the commands that open the service's data: the data folder and the database.
struct ServiceDataOptions: ParsableArguments {
    @Option(help: "Data folder: SQLite database, stored videos, signing CA (default: MOVIOLA_DATA, else ./data in the Moviola folder).")
    var data: String?

    @Option(help: "postgres://user:password@host:port/database to keep the queue in PostgreSQL (default: SQLite in the data folder).")
    var database: String?

    var dataDirectory: String { data ?? MoviolaData.path }
    var databaseLocation: String { database ?? "sqlite:" + (dataDirectory as NSString).appendingPathComponent("moviola.sqlite") }
}

func modelFolders(_ paths: [String]) throws -> [(name: String, path: String)] {
    let chosen = paths.isEmpty ? [MoviolaHome.resolve("models/moviola-mini")] : paths
    var seen = Set<String>()
    return try chosen.map { path in
        guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("model_index.json")) else {
            throw fail("\(path) is not a diffusers model folder (no model_index.json)")
        }
        let name = ((path as NSString).standardizingPath as NSString).lastPathComponent
        guard seen.insert(name).inserted else { throw fail("two models are named \(name); rename one folder") }
        return (name, path)
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

/// `moviola serve`: the API, the queue and (by default) one in-process worker.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service: HTTP API, durable job queue and workers.",
        discussion: """
            One process by default: SQLite (WAL) and videos under --data, and one in-process worker. \
            --database postgres://… keeps the queue in PostgreSQL; --workers 0 leaves rendering to \
            `moviola worker` processes on other hosts. On a loopback address the API is open; on any \
            other address every request needs an API key (`moviola admin keys create`). \
            The API is described at /api/v1/openapi.yaml; SIGTERM or Ctrl-C shuts down gracefully, \
            returning running jobs to the queue.
            """
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 8080
    @OptionGroup var storage: ServiceDataOptions
    @Option(help: "Where videos and inputs go: s3://BUCKET?endpoint=http://host:9000&region=us-east-1 (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Default: the data folder.")
    var storageURL: String?
    @Option(help: "Content policy file (YAML or JSON; default: the shipped policy). Reloaded when it changes or on SIGHUP.")
    var policy: String?
    @Option(help: "Delete videos this many days after they finish (fractions allowed). Default: never; records and receipts always stay.")
    var retentionDays: Double?
    @Option(name: .customLong("model"), help: "A model folder to serve (repeatable; the first is the default). Default: models/moviola-mini.")
    var models: [String] = []
    @Option(help: "In-process workers (0: only remote workers render).") var workers = 1
    @Flag(help: "Require API keys even on a loopback address.") var requireApiKeys = false
    @Option(help: "Seconds a worker's claim lasts without a heartbeat before the job is given to another.") var leaseSeconds = 30.0
    @Option(help: "CPU threads per in-process worker (default: all cores).") var threads: Int?
    @Option(help: "Text of the burned-in label.") var labelText = VisibleLabel.defaultText
    @Flag(name: .customLong("operator-disable-visible-label"), help: "Operator setting: no burned-in label (recorded in the audit log and each manifest).")
    var disableVisibleLabel = false
    @Option(help: "ContentProducer in the AIGC metadata (default: MOVIOLA_PROVIDER_CODE, else moviola-local).") var contentProducer: String?
    @Option(help: "Write the port actually bound to this file once listening (for scripts using --port 0).") var portFile: String?
    @Option(help: "Log lines as text or json (one object per line, for log collectors).") var logFormat: LogFormat = .text
    @Option(help: "How people get accounts: open, waitlist (an operator approves; invitations admit at once), invite or closed.")
    var signup: SignupMode = .waitlist
    @Flag(help: "Accounts need admin-verified real-name details (name and ID number) before they generate.") var requireRealName = false
    @Option(help: "Generations an account may have queued or running at once (per-account overrides: `admin accounts limits`).")
    var defaultConcurrency = 2
    @Option(help: "Generations an account may start per UTC day.") var defaultDailyLimit = 100
    @Option(help: "Credits granted at sign-up, one per second of video (0: none; `admin accounts limits --credits` grants more).")
    var signupCredits = 600
    @Option(help: "First retry delay of a failed webhook delivery in seconds; later ones double, for a day.") var webhookRetrySeconds = 10.0
    @Flag(help: "Allow webhook and callback URLs on loopback and private networks.") var webhookAllowPrivate = false
    @Option(help: "Days audit entries keep their content (their hashes stay forever); at least 180.") var auditRetentionDays = 365.0
    @Option(help: "Seconds between signed audit checkpoints.") var auditCheckpointSeconds = 60.0
    @Option(help: "bcrypt cost for new passwords (10 to 15).") var bcryptCost = PasswordHasher.defaultCost
    @Option(help: "The base URL clients reach this server at, for absolute links (default: http://HOST:PORT).") var publicURL: String?

    func run() async throws {
        logFormat.bootstrap()
        guard (0...65535).contains(port) else { throw fail("--port must be 0 to 65535") }
        guard auditRetentionDays >= 180 else { throw fail("--audit-retention-days must be at least 180 (six months)") }
        guard (10...15).contains(bcryptCost) else { throw fail("--bcrypt-cost must be 10 to 15") }
        guard defaultConcurrency >= 1, defaultDailyLimit >= 1, signupCredits >= 0 else {
            throw fail("--default-concurrency and --default-daily-limit must be at least 1, --signup-credits at least 0")
        }
        guard webhookRetrySeconds >= 0.1, auditCheckpointSeconds >= 1 else { throw fail("--webhook-retry-seconds ≥ 0.1 and --audit-checkpoint-seconds ≥ 1") }
        guard workers >= 0 && workers <= 64 else { throw fail("--workers must be 0 to 64") }
        guard leaseSeconds >= 2 && leaseSeconds <= 3600 else { throw fail("--lease-seconds must be 2 to 3600") }
        let producer = contentProducer ?? ProcessInfo.processInfo.environment["MOVIOLA_PROVIDER_CODE"] ?? "moviola-local"
        let initial = ServerConfiguration(
            host: host, port: port, dataDirectory: storage.dataDirectory, databaseURL: storage.database,
            models: try modelFolders(models), workers: workers, requireAPIKeys: requireApiKeys, leaseSeconds: leaseSeconds,
            threads: threads,
            plane: ControlPlaneSettings(contentProducer: producer, labelText: disableVisibleLabel ? nil : labelText,
                                        heartbeatSeconds: min(2, leaseSeconds / 4)))
        var configuration = initial
        configuration.storageURL = storageURL
        configuration.policyPath = policy
        configuration.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        configuration.accounts.signup = signup
        configuration.accounts.requireRealName = requireRealName
        configuration.accounts.defaultConcurrency = defaultConcurrency
        configuration.accounts.defaultDailyLimit = defaultDailyLimit
        configuration.accounts.signupCredits = signupCredits
        configuration.accounts.webhookRetryBaseSeconds = webhookRetrySeconds
        configuration.accounts.allowPrivateWebhooks = webhookAllowPrivate
        configuration.accounts.auditRetentionDays = auditRetentionDays
        configuration.accounts.auditCheckpointSeconds = auditCheckpointSeconds
        configuration.accounts.bcryptCost = bcryptCost
        if let retentionDays {
            guard retentionDays > 0, retentionDays.isFinite else { throw fail("--retention-days must be a positive number of days") }
            configuration.retentionDays = retentionDays
        }
        let portFile = self.portFile
        do {
            try await MoviolaServer.run(configuration, logger: makeLogger("moviola.serve")) { bound in
                if let portFile { try? "\(bound)\n".write(toFile: portFile, atomically: true, encoding: .utf8) }
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }
}

extension SignupMode: ExpressibleByArgument {}

/// `moviola worker`: renders jobs pulled from a server's internal API.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Render jobs for a Moviola server from this host.",
        discussion: """
            Pulls jobs over the server's internal API with a worker token (`moviola admin keys create --worker` \
            on the server), renders them with the local model folders, and uploads the files; the server checks \
            each file's watermark and signs it. Ctrl-C or SIGTERM returns a running job to the queue.
            """
    )

    @Option(help: "The server's base URL, e.g. http://10.0.0.5:8080.") var server: String
    @Option(help: "A worker token (or MOVIOLA_WORKER_TOKEN).") var token: String?
    @Option(name: .customLong("model"), help: "A model folder this worker renders with (repeatable). Default: models/moviola-mini.")
    var models: [String] = []
    @Option(help: "CPU threads (default: all cores).") var threads: Int?
    @Option(help: "Folder for files being rendered (default: a temporary folder).") var scratch: String?
    @Option(help: "Log lines as text or json (one object per line, for log collectors).") var logFormat: LogFormat = .text

    func run() async throws {
        logFormat.bootstrap()
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw fail("--server must be an http(s) URL such as http://127.0.0.1:8080")
        }
        guard let token = token ?? ProcessInfo.processInfo.environment["MOVIOLA_WORKER_TOKEN"], !token.isEmpty else {
            throw fail("give --token (or MOVIOLA_WORKER_TOKEN): create one on the server with `moviola admin keys create --worker`")
        }
        let folders = try modelFolders(models)
        let logger = makeLogger("moviola.worker")
        let source = HTTPJobSource(server: url, token: token, models: folders.map(\.name))
        let worker = Worker(source: source, models: Dictionary(uniqueKeysWithValues: folders.map { ($0.name, $0.path) }),
                            workerID: Worker.makeID(), threads: threads,
                            scratchDirectory: scratch ?? NSTemporaryDirectory() + "moviola-worker-\(getpid())", logger: logger)
        logger.notice("worker \(worker.workerID) pulling from \(url.absoluteString) with \(folders.map(\.name).joined(separator: ", "))")
        await withShutdownSignals { await worker.run() }
    }
}

/// Runs `body` until it returns or SIGINT/SIGTERM arrives (then cancels it and waits for it).
func withShutdownSignals(_ body: @escaping @Sendable () async -> Void) async {
    let task = Task { await body() }
    let sources = [SIGINT, SIGTERM].map { signalNumber -> any DispatchSourceSignal in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber)
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
    await task.value
    sources.forEach { $0.cancel() }
}
