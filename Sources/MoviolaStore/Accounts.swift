import Crypto
import Foundation
import SQLKit

/// Where an account stands: waiting for approval, admitted, or suspended by an operator.
public enum AccountStatus: String, Codable, Sendable, CaseIterable {
    case waitlisted, active, suspended
}

/// One person's account (the password only as a bcrypt hash; real-name details live in their own table).
public struct AccountRecord: Sendable, Equatable {
    public var id: String
    public var email: String
    public var passwordHash: String
    /// `user` or `admin`.
    public var role: String
    public var status: AccountStatus
    public var statusReason: String?
    public var waitlistSeq: Int?
    public var invitationCode: String?
    /// nil: the server's default applies.
    public var concurrencyLimit: Int?
    public var dailyLimit: Int?
    /// Credits granted in total (one credit is one second of generated video); nil: unmetered.
    public var credits: Int?
    /// `none`, `pending`, `verified` or `rejected`.
    public var realNameState: String
    public var webhookURL: String?
    public var webhookSecret: String
    public var createdAt: Double
    public var approvedAt: Double?
    public var lastLoginAt: Double?

    public var isAdmin: Bool { role == "admin" }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        email = try row.decode(column: "email", as: String.self)
        passwordHash = try row.decode(column: "password_hash", as: String.self)
        role = try row.decode(column: "role", as: String.self)
        let statusText = try row.decode(column: "status", as: String.self)
        guard let parsed = AccountStatus(rawValue: statusText) else { throw StoreError("account \(id) has an unknown status \(statusText)") }
        status = parsed
        statusReason = try row.decode(column: "status_reason", as: String?.self)
        waitlistSeq = try row.decode(column: "waitlist_seq", as: Int?.self)
        invitationCode = try row.decode(column: "invitation_code", as: String?.self)
        concurrencyLimit = try row.decode(column: "concurrency_limit", as: Int?.self)
        dailyLimit = try row.decode(column: "daily_limit", as: Int?.self)
        credits = try row.decode(column: "credits", as: Int?.self)
        realNameState = try row.decode(column: "real_name_state", as: String.self)
        webhookURL = try row.decode(column: "webhook_url", as: String?.self)
        webhookSecret = try row.decode(column: "webhook_secret", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        approvedAt = try row.decode(column: "approved_at", as: Double?.self)
        lastLoginAt = try row.decode(column: "last_login_at", as: Double?.self)
    }
}

/// An invitation code that admits its holder without waiting.
public struct InvitationRecord: Sendable, Equatable {
    public var code: String
    public var createdBy: String
    public var note: String
    public var maxUses: Int
    public var uses: Int
    public var createdAt: Double
    public var expiresAt: Double?
    public var revokedAt: Double?

    init(row: any SQLRow) throws {
        code = try row.decode(column: "code", as: String.self)
        createdBy = try row.decode(column: "created_by", as: String.self)
        note = try row.decode(column: "note", as: String.self)
        maxUses = try row.decode(column: "max_uses", as: Int.self)
        uses = try row.decode(column: "uses", as: Int.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        expiresAt = try row.decode(column: "expires_at", as: Double?.self)
        revokedAt = try row.decode(column: "revoked_at", as: Double?.self)
    }
}

/// The real-name details an account submitted (kept apart so they can be erased).
public struct RealNameRecord: Sendable, Equatable {
    public var accountID: String
    public var fullName: String
    public var idNumber: String
    public var submittedAt: Double
    public var reviewedAt: Double?
    public var reviewedBy: String?
}

/// Why an account may not start another generation now.
public struct QuotaExceeded: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable { case concurrency, daily, credits }
    public var kind: Kind
    public var limit: Int
    public var used: Int
    public var needed: Int

    public var description: String {
        switch kind {
        case .concurrency: "this account already has \(used) generations queued or running; its limit is \(limit) at a time"
        case .daily: "this account started \(used) generations today (UTC); its daily limit is \(limit)"
        case .credits: "this generation needs \(needed) credits and the account has \(max(0, limit - used)) left (\(limit) granted; succeeded and in-flight generations count)"
        }
    }
}

/// The limits a new generation is admitted under (checked in the same transaction that queues it).
public struct Admission: Sendable {
    public var concurrencyLimit: Int?
    public var dailyLimit: Int?
    public var credits: Int?
    /// Start of the current UTC day, seconds since 1970.
    public var dayStart: Double

    public init(concurrencyLimit: Int?, dailyLimit: Int?, credits: Int?, dayStart: Double) {
        self.concurrencyLimit = concurrencyLimit
        self.dailyLimit = dailyLimit
        self.credits = credits
        self.dayStart = dayStart
    }
}

/// What an account has used: generations in flight, started today, and credits.
public struct AccountUsage: Sendable, Equatable {
    public var inFlight: Int
    public var today: Int
    /// Credits of succeeded generations: the only ones ever charged.
    public var creditsCharged: Int
    /// Credits held by queued and running generations (released if they fail or are cancelled).
    public var creditsReserved: Int
}

/// An invitation that cannot admit anyone.
public struct InvitationUnusable: Error, CustomStringConvertible, Sendable {
    public var code: String
    public var description: String { "invitation code \(code) is unknown, used up, expired or revoked" }
}

extension Store {
    // MARK: accounts

    /// Creates an account. With an invitation code the account is active at once (the code's use is
    /// counted in the same transaction); otherwise it gets `status` and, when waitlisted, a place in line.
    public func createAccount(email: String, passwordHash: String, role: String, status: AccountStatus,
                              invitationCode: String? = nil) async throws -> AccountRecord {
        let now = clock()
        let id = "acct_" + Self.randomToken(16).lowercased()
        let secret = "whsec_" + Self.randomToken(32)
        let normalized = email.lowercased()
        return try await database.transaction { db -> AccountRecord in
            if try await db.raw("SELECT id FROM accounts WHERE email = \(bind: normalized)").first() != nil {
                throw AccountExists(email: normalized)
            }
            var finalStatus = status
            if let code = invitationCode {
                guard try await db.raw("""
                    UPDATE invitations SET uses = uses + 1
                    WHERE code = \(bind: code) AND uses < max_uses AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(bind: now))
                    RETURNING code
                    """).first() != nil else { throw InvitationUnusable(code: code) }
                finalStatus = .active
            }
            var seq: Int?
            if finalStatus == .waitlisted {
                seq = try await db.raw("SELECT COALESCE(MAX(waitlist_seq), 0) + 1 AS n FROM accounts").first()?.decode(column: "n", as: Int.self)
            }
            try await db.raw("""
                INSERT INTO accounts (id, email, password_hash, role, status, waitlist_seq, invitation_code, webhook_secret, created_at, approved_at)
                VALUES (\(bind: id), \(bind: normalized), \(bind: passwordHash), \(bind: role), \(bind: finalStatus.rawValue), \(bind: seq),
                        \(bind: invitationCode), \(bind: secret), \(bind: now), \(bind: finalStatus == .active ? now : nil))
                """).run()
            return try await db.raw("SELECT * FROM accounts WHERE id = \(bind: id)").first().map(AccountRecord.init(row:))!
        }
    }

    public func account(id: String) async throws -> AccountRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM accounts WHERE id = \(bind: id)").first().map(AccountRecord.init(row:))
        }
    }

    public func account(email: String) async throws -> AccountRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM accounts WHERE email = \(bind: email.lowercased())").first().map(AccountRecord.init(row:))
        }
    }

    /// Accounts, oldest first (the waitlist in its order when `status` is waitlisted).
    public func accounts(status: AccountStatus? = nil, limit: Int = 200) async throws -> [AccountRecord] {
        var query = SQLQueryString("SELECT * FROM accounts")
        if let status { query = query + " WHERE status = \(bind: status.rawValue)" }
        query = query + " ORDER BY COALESCE(waitlist_seq, 0), created_at, id LIMIT \(literal: max(1, min(limit, 1000)))"
        let finalQuery = query
        return try await database.withConnection { db in try await db.raw(finalQuery).all().map(AccountRecord.init(row:)) }
    }

    /// 1 for the next person to be admitted; nil unless waitlisted.
    public func waitlistPosition(accountID: String) async throws -> Int? {
        try await database.withConnection { db in
            guard let row = try await db.raw("SELECT waitlist_seq FROM accounts WHERE id = \(bind: accountID) AND status = 'waitlisted'").first(),
                  let seq = try row.decode(column: "waitlist_seq", as: Int?.self) else { return nil }
            return try await db.raw("""
                SELECT COUNT(*) AS n FROM accounts WHERE status = 'waitlisted' AND waitlist_seq <= \(bind: seq)
                """).first()?.decode(column: "n", as: Int.self)
        }
    }

    /// Changes an account's status; returns the account afterwards (nil if there is none).
    @discardableResult
    public func setAccountStatus(id: String, status: AccountStatus, reason: String?) async throws -> AccountRecord? {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("""
                UPDATE accounts SET status = \(bind: status.rawValue), status_reason = \(bind: reason),
                    approved_at = \(unsafeRaw: status == .active ? "COALESCE(approved_at, \(now))" : "approved_at")
                WHERE id = \(bind: id)
                """).run()
            return try await db.raw("SELECT * FROM accounts WHERE id = \(bind: id)").first().map(AccountRecord.init(row:))
        }
    }

    public func setAccountRole(id: String, role: String) async throws {
        try await database.withConnection { db in
            try await db.raw("UPDATE accounts SET role = \(bind: role) WHERE id = \(bind: id)").run()
        }
    }

    public func setPasswordHash(id: String, hash: String) async throws {
        try await database.withConnection { db in
            try await db.raw("UPDATE accounts SET password_hash = \(bind: hash) WHERE id = \(bind: id)").run()
        }
    }

    /// Sets an account's limits (nil leaves a limit unchanged; `clear` names limits to reset to the server default).
    public func setLimits(id: String, concurrency: Int?, daily: Int?, credits: Int?, clear: Set<String> = []) async throws {
        try await database.withConnection { db in
            if let concurrency { try await db.raw("UPDATE accounts SET concurrency_limit = \(bind: concurrency) WHERE id = \(bind: id)").run() }
            if let daily { try await db.raw("UPDATE accounts SET daily_limit = \(bind: daily) WHERE id = \(bind: id)").run() }
            if let credits { try await db.raw("UPDATE accounts SET credits = \(bind: credits) WHERE id = \(bind: id)").run() }
            for column in clear where ["concurrency_limit", "daily_limit", "credits"].contains(column) {
                try await db.raw("UPDATE accounts SET \(unsafeRaw: column) = NULL WHERE id = \(bind: id)").run()
            }
        }
    }

    public func recordLogin(accountID: String) async throws {
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("UPDATE accounts SET last_login_at = \(bind: now) WHERE id = \(bind: accountID)").run()
        }
    }

    public func setWebhook(accountID: String, url: String?) async throws {
        try await database.withConnection { db in
            try await db.raw("UPDATE accounts SET webhook_url = \(bind: url) WHERE id = \(bind: accountID)").run()
        }
    }

    /// A waitlisted account redeems an invitation code: admitted at once, the code's use counted in the same transaction.
    public func redeemInvitation(accountID: String, code: String) async throws -> AccountRecord? {
        let now = clock()
        return try await database.transaction { db -> AccountRecord? in
            guard try await db.raw("""
                UPDATE invitations SET uses = uses + 1
                WHERE code = \(bind: code) AND uses < max_uses AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(bind: now))
                RETURNING code
                """).first() != nil else { throw InvitationUnusable(code: code) }
            try await db.raw("""
                UPDATE accounts SET status = 'active', invitation_code = \(bind: code), approved_at = \(bind: now)
                WHERE id = \(bind: accountID) AND status = 'waitlisted'
                """).run()
            return try await db.raw("SELECT * FROM accounts WHERE id = \(bind: accountID)").first().map(AccountRecord.init(row:))
        }
    }

    // MARK: real name

    public func submitRealName(accountID: String, fullName: String, idNumber: String) async throws {
        let now = clock()
        _ = try await database.transaction { db in
            try await db.raw("DELETE FROM real_name_records WHERE account_id = \(bind: accountID)").run()
            try await db.raw("""
                INSERT INTO real_name_records (account_id, full_name, id_number, submitted_at)
                VALUES (\(bind: accountID), \(bind: fullName), \(bind: idNumber), \(bind: now))
                """).run()
            try await db.raw("UPDATE accounts SET real_name_state = 'pending' WHERE id = \(bind: accountID)").run()
        }
    }

    public func realName(accountID: String) async throws -> RealNameRecord? {
        try await database.withConnection { db in
            guard let row = try await db.raw("SELECT * FROM real_name_records WHERE account_id = \(bind: accountID)").first() else { return nil }
            return RealNameRecord(accountID: accountID, fullName: try row.decode(column: "full_name", as: String.self),
                                  idNumber: try row.decode(column: "id_number", as: String.self),
                                  submittedAt: try row.decode(column: "submitted_at", as: Double.self),
                                  reviewedAt: try row.decode(column: "reviewed_at", as: Double?.self),
                                  reviewedBy: try row.decode(column: "reviewed_by", as: String?.self))
        }
    }

    /// An admin's decision on submitted real-name details.
    public func reviewRealName(accountID: String, verified: Bool, reviewer: String) async throws -> Bool {
        let now = clock()
        return try await database.transaction { db -> Bool in
            guard try await db.raw("""
                UPDATE real_name_records SET reviewed_at = \(bind: now), reviewed_by = \(bind: reviewer)
                WHERE account_id = \(bind: accountID) RETURNING account_id
                """).first() != nil else { return false }
            try await db.raw("UPDATE accounts SET real_name_state = \(bind: verified ? "verified" : "rejected") WHERE id = \(bind: accountID)").run()
            return true
        }
    }

    /// Erases an account's personal data: real-name details and the personal fields of its audit entries
    /// (the entries themselves, and the log's hashes, stay).
    public func erasePersonalData(accountID: String) async throws -> Int {
        try await database.transaction { db -> Int in
            try await db.raw("DELETE FROM real_name_records WHERE account_id = \(bind: accountID)").run()
            try await db.raw("UPDATE accounts SET real_name_state = 'none' WHERE id = \(bind: accountID)").run()
            let erased = try await db.raw("SELECT COUNT(*) AS n FROM audit_personal WHERE subject = \(bind: accountID)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            try await db.raw("DELETE FROM audit_personal WHERE subject = \(bind: accountID)").run()
            return erased
        }
    }

    // MARK: sessions

    /// A new log-in session; the token is returned once (only its hash is stored).
    public func createSession(accountID: String, lifetime: Double) async throws -> String {
        let token = "mvs_" + Self.randomToken(40)
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO sessions (token_sha256, account_id, created_at, expires_at)
                VALUES (\(bind: Self.sha256(token)), \(bind: accountID), \(bind: now), \(bind: now + lifetime))
                """).run()
        }
        return token
    }

    /// The account a live session belongs to.
    public func sessionAccount(token: String) async throws -> String? {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("""
                SELECT account_id FROM sessions WHERE token_sha256 = \(bind: Self.sha256(token)) AND revoked_at IS NULL AND expires_at > \(bind: now)
                """).first()?.decode(column: "account_id", as: String.self)
        }
    }

    public func revokeSession(token: String) async throws {
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("UPDATE sessions SET revoked_at = \(bind: now) WHERE token_sha256 = \(bind: Self.sha256(token))").run()
        }
    }

    /// Ends every session of an account (on suspension or a password change).
    public func revokeSessions(accountID: String) async throws {
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("UPDATE sessions SET revoked_at = \(bind: now) WHERE account_id = \(bind: accountID) AND revoked_at IS NULL").run()
        }
    }

    // MARK: failed log-ins

    /// Records a failed log-in for an address (stored as a hash) and forgets every failure older than `forgetBefore`.
    public func recordLoginFailure(email: String, at time: Double, forgetBefore cutoff: Double) async throws {
        try await database.withConnection { db in
            try await db.raw("INSERT INTO login_failures (email_sha256, failed_at) VALUES (\(bind: Self.sha256(email)), \(bind: time))").run()
            try await db.raw("DELETE FROM login_failures WHERE failed_at < \(bind: cutoff)").run()
        }
    }

    /// When an address's log-ins failed since `since`, oldest first.
    public func loginFailures(email: String, since: Double) async throws -> [Double] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT failed_at FROM login_failures WHERE email_sha256 = \(bind: Self.sha256(email)) AND failed_at >= \(bind: since)
                ORDER BY failed_at
                """).all().map { try $0.decode(column: "failed_at", as: Double.self) }
        }
    }

    /// Forgets an address's failed log-ins (after a successful one).
    public func clearLoginFailures(email: String) async throws {
        try await database.withConnection { db in
            try await db.raw("DELETE FROM login_failures WHERE email_sha256 = \(bind: Self.sha256(email))").run()
        }
    }

    // MARK: invitations

    public func createInvitation(createdBy: String, note: String, maxUses: Int, expiresAt: Double?) async throws -> InvitationRecord {
        let code = "INV-" + Self.randomToken(12).uppercased()
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO invitations (code, created_by, note, max_uses, created_at, expires_at)
                VALUES (\(bind: code), \(bind: createdBy), \(bind: note), \(bind: maxUses), \(bind: now), \(bind: expiresAt))
                """).run()
            return try await db.raw("SELECT * FROM invitations WHERE code = \(bind: code)").first().map(InvitationRecord.init(row:))!
        }
    }

    public func invitations() async throws -> [InvitationRecord] {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM invitations ORDER BY created_at DESC").all().map(InvitationRecord.init(row:))
        }
    }

    public func revokeInvitation(code: String) async throws -> Bool {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("UPDATE invitations SET revoked_at = \(bind: now) WHERE code = \(bind: code) AND revoked_at IS NULL RETURNING code").first() != nil
        }
    }

    // MARK: access keys (Kling-style AK/SK)

    /// Stores an access key whose secret is kept sealed (the server must read it to check JWT signatures).
    public func createAccessKey(accountID: String, name: String, sealedSecret: String) async throws -> (record: APIKeyRecord, accessKey: String) {
        let accessKey = "AK" + Self.randomToken(22)
        let id = "key_" + Self.randomToken(12).lowercased()
        let now = clock()
        try await database.withConnection { db in
            try await db.raw("""
                INSERT INTO api_keys (id, name, scope, prefix, secret_sha256, created_at, account_id, access_key, sealed_secret)
                VALUES (\(bind: id), \(bind: name), 'api', \(bind: String(accessKey.prefix(12))), \(bind: Self.sha256(accessKey + ":" + id)),
                        \(bind: now), \(bind: accountID), \(bind: accessKey), \(bind: sealedSecret))
                """).run()
        }
        guard let record = try await apiKey(id: id) else { throw StoreError("the new key \(id) did not save") }
        return (record, accessKey)
    }

    /// The key row of an access key, revoked or not (the caller tells the two apart), and its sealed secret.
    public func accessKey(_ accessKey: String) async throws -> (record: APIKeyRecord, sealedSecret: String)? {
        try await database.withConnection { db in
            guard let row = try await db.raw("SELECT * FROM api_keys WHERE access_key = \(bind: accessKey)").first() else { return nil }
            return (try APIKeyRecord(row: row), try row.decode(column: "sealed_secret", as: String.self))
        }
    }

    public func apiKey(id: String) async throws -> APIKeyRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first().map(APIKeyRecord.init(row:))
        }
    }

    /// A bearer key by its secret, revoked or not (so a revoked key can be told apart from an unknown one).
    public func apiKeyIncludingRevoked(secret: String) async throws -> APIKeyRecord? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM api_keys WHERE secret_sha256 = \(bind: Self.sha256(secret))").first().map(APIKeyRecord.init(row:))
        }
    }

    // MARK: usage

    public func usage(account: String, dayStart: Double) async throws -> AccountUsage {
        try await database.withConnection { db in try await usage(db, account: account, dayStart: dayStart) }
    }

    func usage(_ db: any SQLDatabase, account: String, dayStart: Double) async throws -> AccountUsage {
        let row = try await db.raw("""
            SELECT CAST(SUM(CASE WHEN state IN ('queued', 'running') THEN 1 ELSE 0 END) AS BIGINT) AS in_flight,
                   CAST(SUM(CASE WHEN state IN ('queued', 'running', 'succeeded') AND created_at >= \(bind: dayStart) THEN 1 ELSE 0 END) AS BIGINT) AS today,
                   CAST(SUM(CASE WHEN state = 'succeeded' THEN cost ELSE 0 END) AS BIGINT) AS charged,
                   CAST(SUM(CASE WHEN state IN ('queued', 'running') THEN cost ELSE 0 END) AS BIGINT) AS reserved
            FROM generations WHERE account = \(bind: account)
            """).first()
        return AccountUsage(inFlight: try row?.decode(column: "in_flight", as: Int?.self) ?? 0,
                            today: try row?.decode(column: "today", as: Int?.self) ?? 0,
                            creditsCharged: try row?.decode(column: "charged", as: Int?.self) ?? 0,
                            creditsReserved: try row?.decode(column: "reserved", as: Int?.self) ?? 0)
    }

    /// Checks the limits inside the transaction that queues the generation, so concurrent requests
    /// cannot both pass; nothing is debited: what an account is charged is always derived from its
    /// succeeded generations.
    func admit(_ db: any SQLDatabase, account: String, cost: Int, admission: Admission) async throws {
        if database.kind == .postgres {
            try await db.raw("SELECT pg_advisory_xact_lock(7221, hashtext(\(bind: account)))").run()
        }
        let usage = try await usage(db, account: account, dayStart: admission.dayStart)
        if let limit = admission.concurrencyLimit, usage.inFlight >= limit {
            throw QuotaExceeded(kind: .concurrency, limit: limit, used: usage.inFlight, needed: 1)
        }
        if let limit = admission.dailyLimit, usage.today >= limit {
            throw QuotaExceeded(kind: .daily, limit: limit, used: usage.today, needed: 1)
        }
        if let credits = admission.credits, usage.creditsCharged + usage.creditsReserved + cost > credits {
            throw QuotaExceeded(kind: .credits, limit: credits, used: usage.creditsCharged + usage.creditsReserved, needed: cost)
        }
    }

    // MARK: helpers

    static func randomToken(_ count: Int) -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// Sign-up with an e-mail address that already has an account.
public struct AccountExists: Error, CustomStringConvertible, Sendable {
    public var email: String
    public var description: String { "an account with \(email) already exists; log in instead" }
}

/// A Kling `external_task_id` the account already used.
public struct DuplicateExternalTaskID: Error, CustomStringConvertible, Sendable {
    public var externalTaskID: String
    public var description: String { "external_task_id \(externalTaskID) is already used by another task of this account" }
}
