import Foundation
import SQLKit

/// One versioned schema change. The SQL is written once for both databases (types both accept:
/// TEXT, BIGINT, DOUBLE PRECISION; times are seconds since 1970 as DOUBLE PRECISION).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]
}

/// The schema, in order. Never edit a released migration: add a new one.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "generations, jobs, events, api keys", statements: [
            """
            CREATE TABLE generations (
                id TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                produce_id TEXT NOT NULL UNIQUE,
                content_id TEXT NOT NULL,
                state TEXT NOT NULL,
                model TEXT NOT NULL,
                request TEXT NOT NULL,
                priority BIGINT NOT NULL,
                idempotency_key TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                stage TEXT,
                step BIGINT NOT NULL DEFAULT 0,
                total_steps BIGINT NOT NULL DEFAULT 0,
                attempts BIGINT NOT NULL DEFAULT 0,
                error_code TEXT,
                error_message TEXT,
                video_key TEXT,
                video_bytes BIGINT,
                video_sha256 TEXT,
                receipt TEXT,
                event_seq BIGINT NOT NULL DEFAULT 0
            )
            """,
            "CREATE UNIQUE INDEX generations_idempotency ON generations (account, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX generations_account_created ON generations (account, created_at, id)",
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                generation_id TEXT NOT NULL UNIQUE REFERENCES generations (id),
                model TEXT NOT NULL,
                state TEXT NOT NULL,
                priority BIGINT NOT NULL,
                attempt BIGINT NOT NULL DEFAULT 0,
                max_attempts BIGINT NOT NULL,
                run_at DOUBLE PRECISION NOT NULL,
                lease_owner TEXT,
                lease_expires_at DOUBLE PRECISION,
                cancel_requested BIGINT NOT NULL DEFAULT 0,
                last_error TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                finished_at DOUBLE PRECISION
            )
            """,
            "CREATE INDEX jobs_ready ON jobs (state, priority, run_at)",
            "CREATE INDEX jobs_lease ON jobs (state, lease_expires_at)",
            """
            CREATE TABLE generation_events (
                generation_id TEXT NOT NULL REFERENCES generations (id),
                seq BIGINT NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (generation_id, seq)
            )
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                scope TEXT NOT NULL,
                prefix TEXT NOT NULL,
                secret_sha256 TEXT NOT NULL UNIQUE,
                created_at DOUBLE PRECISION NOT NULL,
                last_used_at DOUBLE PRECISION,
                revoked_at DOUBLE PRECISION
            )
            """,
        ]),
        Migration(version: 2, name: "video retention", statements: [
            "ALTER TABLE generations ADD COLUMN video_deleted_at DOUBLE PRECISION",
            "CREATE INDEX generations_finished ON generations (state, finished_at)",
        ]),
        Migration(version: 3, name: "policy verdicts", statements: [
            """
            CREATE TABLE policy_verdicts (
                id TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                input TEXT,
                allowed BIGINT NOT NULL,
                action TEXT NOT NULL,
                category TEXT,
                rule TEXT,
                policy_version TEXT NOT NULL,
                prompt TEXT NOT NULL,
                verdict TEXT NOT NULL,
                generation_id TEXT,
                review_state TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX policy_verdicts_account ON policy_verdicts (account, allowed, created_at)",
            "CREATE INDEX policy_verdicts_review ON policy_verdicts (review_state, created_at)",
        ]),
        Migration(version: 4, name: "accounts, sessions, invitations, access keys, webhooks, audit log", statements: [
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                status TEXT NOT NULL,
                status_reason TEXT,
                waitlist_seq BIGINT,
                invitation_code TEXT,
                concurrency_limit BIGINT,
                daily_limit BIGINT,
                credits BIGINT,
                real_name_state TEXT NOT NULL DEFAULT 'none',
                webhook_url TEXT,
                webhook_secret TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                approved_at DOUBLE PRECISION,
                last_login_at DOUBLE PRECISION
            )
            """,
            "CREATE INDEX accounts_status ON accounts (status, waitlist_seq)",
            """
            CREATE TABLE real_name_records (
                account_id TEXT PRIMARY KEY REFERENCES accounts (id),
                full_name TEXT NOT NULL,
                id_number TEXT NOT NULL,
                submitted_at DOUBLE PRECISION NOT NULL,
                reviewed_at DOUBLE PRECISION,
                reviewed_by TEXT
            )
            """,
            """
            CREATE TABLE sessions (
                token_sha256 TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts (id),
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """,
            """
            CREATE TABLE invitations (
                code TEXT PRIMARY KEY,
                created_by TEXT NOT NULL,
                note TEXT NOT NULL,
                max_uses BIGINT NOT NULL,
                uses BIGINT NOT NULL DEFAULT 0,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION,
                revoked_at DOUBLE PRECISION
            )
            """,
            "ALTER TABLE api_keys ADD COLUMN account_id TEXT",
            "ALTER TABLE api_keys ADD COLUMN access_key TEXT",
            "ALTER TABLE api_keys ADD COLUMN sealed_secret TEXT",
            "CREATE UNIQUE INDEX api_keys_access_key ON api_keys (access_key) WHERE access_key IS NOT NULL",
            "ALTER TABLE generations ADD COLUMN cost BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE generations ADD COLUMN external_task_id TEXT",
            "ALTER TABLE generations ADD COLUMN callback_url TEXT",
            "ALTER TABLE generations ADD COLUMN api_flavor TEXT NOT NULL DEFAULT 'native'",
            "ALTER TABLE generations ADD COLUMN deleted_at DOUBLE PRECISION",
            "CREATE UNIQUE INDEX generations_external_task ON generations (account, external_task_id) WHERE external_task_id IS NOT NULL",
            "CREATE INDEX generations_account_state ON generations (account, state)",
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY,
                dedupe_key TEXT NOT NULL,
                generation_id TEXT NOT NULL,
                account TEXT NOT NULL,
                event_seq BIGINT NOT NULL,
                event_kind TEXT NOT NULL,
                target TEXT NOT NULL,
                url TEXT NOT NULL,
                payload TEXT,
                state TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at DOUBLE PRECISION NOT NULL,
                last_status BIGINT,
                last_error TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                delivered_at DOUBLE PRECISION,
                UNIQUE (dedupe_key, target)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
            "CREATE INDEX webhook_deliveries_generation ON webhook_deliveries (generation_id, target, event_seq)",
            """
            CREATE TABLE audit_entries (
                seq BIGINT PRIMARY KEY,
                leaf TEXT,
                leaf_hash TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE audit_personal (
                seq BIGINT PRIMARY KEY,
                subject TEXT,
                salt TEXT NOT NULL,
                data TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_personal_subject ON audit_personal (subject)",
            """
            CREATE TABLE audit_checkpoints (
                tree_size BIGINT PRIMARY KEY,
                root_hash TEXT NOT NULL,
                signed_at DOUBLE PRECISION NOT NULL,
                signature TEXT NOT NULL,
                signer TEXT NOT NULL
            )
            """,
        ]),
        Migration(version: 5, name: "failed log-ins, shared by every server process", statements: [
            """
            CREATE TABLE login_failures (
                email_sha256 TEXT NOT NULL,
                failed_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX login_failures_by_email ON login_failures (email_sha256, failed_at)",
            "CREATE INDEX login_failures_by_time ON login_failures (failed_at)",
        ]),
    ]

    /// Applies what is missing, each migration in its own transaction; returns the versions applied.
    @discardableResult
    public static func run(on database: any StoreDatabase, now: Double = Date().timeIntervalSince1970) async throws -> [Int] {
        try await database.withConnection { db in
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)
                """).run()
        }
        var applied: [Int] = []
        for migration in all {
            let done: Bool
            do {
                done = try await database.transaction { db -> Bool in
                    // Another process may be migrating at the same moment: the check and the change share one
                    // transaction, and PostgreSQL's advisory lock serialises them.
                    if database.kind == .postgres { try await db.raw("SELECT pg_advisory_xact_lock(7219)").run() }
                    let existing = try await db.raw("SELECT version FROM schema_migrations WHERE version = \(bind: migration.version)").first()
                    if existing != nil { return true }
                    for statement in migration.statements { try await db.raw("\(unsafeRaw: statement)").run() }
                    try await db.raw("""
                        INSERT INTO schema_migrations (version, name, applied_at)
                        VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now))
                        """).run()
                    return false
                }
            } catch {
                // PostgreSQL's errors hide their detail from `description`; an operator needs it here.
                throw StoreError("schema migration \(migration.version) (\(migration.name)) failed on \(database.displayName): \(String(reflecting: error))")
            }
            if !done { applied.append(migration.version) }
        }
        let newest = try await database.withConnection { db in
            try await db.raw("SELECT MAX(version) AS version FROM schema_migrations").first()?.decode(column: "version", as: Int?.self)
        }
        if let newest, newest > (all.last?.version ?? 0) {
            throw StoreError("the database is at schema version \(newest), newer than this build knows (\(all.last?.version ?? 0)); upgrade Moviola")
        }
        return applied
    }
}
