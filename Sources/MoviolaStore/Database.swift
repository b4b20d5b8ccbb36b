import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLiteKit
import SQLKit
import Synchronization

/// Which database a store runs on; the few queries that differ branch on it.
public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgres
}

/// A database the store can run queries and transactions on: SQLite (embedded, the default) or PostgreSQL.
public protocol StoreDatabase: Sendable {
    var kind: DatabaseKind { get }
    /// A description without secrets, for logs.
    var displayName: String { get }
    func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    /// Keeps connections alive; runs until cancelled (PostgreSQL's pool needs it running).
    func run() async throws
    /// Delivers a value each time `channel` is notified (PostgreSQL LISTEN); nil where unsupported.
    func notifications(channel: String) -> AsyncStream<Void>?
    func close() async
}

/// An error the store raises, with a message a person can act on.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Opens a store database by URL: `sqlite:PATH` (or a plain path), `sqlite::memory:`, or
/// `postgres://user:password@host:port/database[?sslmode=disable|prefer|require]`.
public func openStoreDatabase(url: String, logger: Logger) async throws -> any StoreDatabase {
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
        return try PostgresStoreDatabase(url: url, logger: logger)
    }
    var path = url
    if path.hasPrefix("sqlite://") { path = String(path.dropFirst("sqlite://".count)) }
    else if path.hasPrefix("sqlite:") { path = String(path.dropFirst("sqlite:".count)) }
    guard !path.isEmpty else { throw StoreError("the database URL \(url) names no file") }
    return try await SQLiteStoreDatabase.open(path: path, logger: logger)
}

/// A FIFO async lock: one holder at a time, across suspension points.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { s -> Bool in
                if !s.locked {
                    s.locked = true
                    return true
                }
                s.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.locked = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }
}

/// SQLite in WAL mode through one connection; statements and transactions are serialised by a lock,
/// which also makes `BEGIN IMMEDIATE` transactions safe from interleaving.
public final class SQLiteStoreDatabase: StoreDatabase {
    public let kind = DatabaseKind.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let lock = AsyncLock()

    private init(path: String, connection: SQLiteConnection) {
        self.path = path
        self.connection = connection
    }

    public var displayName: String { "SQLite \(path)" }

    public static func open(path: String, logger: Logger) async throws -> SQLiteStoreDatabase {
        let storage: SQLiteConnection.Storage
        if path == ":memory:" {
            storage = .memory
        } else {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            storage = .file(path: path)
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: storage, logger: logger).get()
        } catch {
            throw StoreError("cannot open the SQLite database \(path): \(error)")
        }
        let database = SQLiteStoreDatabase(path: path, connection: connection)
        try await database.withConnection { db in
            if path != ":memory:" { try await db.raw("PRAGMA journal_mode=WAL").run() }
            try await db.raw("PRAGMA synchronous=NORMAL").run()
            try await db.raw("PRAGMA foreign_keys=ON").run()
        }
        return database
    }

    public func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.withLock { try await body(connection.sql(queryLogLevel: nil)) }
    }

    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.withLock {
            let db = connection.sql(queryLogLevel: nil)
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func run() async throws {
        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
    }

    public func notifications(channel: String) -> AsyncStream<Void>? { nil }

    public func close() async {
        try? await connection.close().get()
    }
}

/// PostgreSQL through postgres-nio's pooled `PostgresClient` (run it with `run()`).
public final class PostgresStoreDatabase: StoreDatabase {
    public let kind = DatabaseKind.postgres
    public let displayName: String
    let client: PostgresClient
    private let logger: Logger

    public init(url: String, logger: Logger) throws {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw StoreError("cannot read the PostgreSQL URL (expected postgres://user:password@host:port/database)")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw StoreError("sslmode \(sslMode) is not one of disable, prefer, require")
        }
        var configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                         password: password, database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.maximumConnections = 16
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        displayName = "PostgreSQL \(user)@\(host):\(components.port ?? 5432)/\(database)"
    }

    public func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(connection.sql(queryLogLevel: nil))
            }
        } catch let error as PostgresTransactionError {
            // Callers see their own error (a lost lease, a store error), not the wrapper.
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw error
        }
    }

    public func run() async throws {
        await client.run()
    }

    public func notifications(channel: String) -> AsyncStream<Void>? {
        let client = self.client
        let logger = self.logger
        return AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    do {
                        try await client.withConnection { connection in
                            try await connection.listen(on: channel) { notifications in
                                continuation.yield()  // (re)connected: whatever was missed may be ready
                                for try await _ in notifications { continuation.yield() }
                            }
                        }
                    } catch is CancellationError {
                        break
                    } catch {
                        if Task.isCancelled { break }
                        logger.warning("LISTEN \(channel) ended (\(error)); polling until it reconnects")
                        try? await Task.sleep(for: .seconds(2))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func close() async {}
}
