import Foundation
import HTTPTypes
import Hummingbird
import MoviolaStore

/// How people get accounts.
public enum SignupMode: String, Sendable, CaseIterable {
    /// Anyone may sign up and use the service at once.
    case open
    /// Sign-ups wait for an operator's approval unless they bring an invitation code (the default).
    case waitlist
    /// Only invitation codes admit; no waitlist.
    case invite
    /// No sign-ups; accounts are made with `moviola admin accounts create`.
    case closed
}

/// The operator's account and accounting settings.
public struct AccountSettings: Sendable {
    public var signup: SignupMode = .waitlist
    /// Accounts must have admin-verified real-name details before they can generate.
    public var requireRealName = false
    public var defaultConcurrency = 2
    public var defaultDailyLimit = 100
    /// Credits granted at sign-up (one credit = one second of video); nil: unmetered.
    public var signupCredits: Int? = 600
    public var sessionSeconds: Double = 14 * 86_400
    public var bcryptCost = PasswordHasher.defaultCost
    /// First webhook retry delay; later ones double, for a day.
    public var webhookRetryBaseSeconds: Double = 10
    /// Allow webhook URLs on loopback and private networks (off by default: they could reach internal services).
    public var allowPrivateWebhooks = false
    /// Audit entries keep their bodies this long (their hashes stay forever).
    public var auditRetentionDays: Double = 365
    public var auditCheckpointSeconds: Double = 60

    public init() {}
}

/// Who is making a request.
struct Principal: Sendable {
    enum Via: String, Sendable { case open, session, apiKey = "api_key", accessKey = "access_key" }
    /// The account generations are recorded under.
    var account: String
    var record: AccountRecord?
    var isAdmin: Bool
    var via: Via
    var keyID: String?
}

/// Finds and checks the credential of a request: a session cookie (the web page), an API key, a
/// Kling-style JWT, or nothing on an open loopback server. Every refusal is audit-logged.
struct AccessControl: Sendable {
    let store: Store
    let access: APIAccess
    let secrets: SecretBox
    let settings: AccountSettings
    var loginFailures: LoginThrottle { LoginThrottle(store: store) }

    static let sessionCookie = "moviola_session"

    /// - Parameter admitted: false lets waitlisted accounts through (to see their place in line).
    func principal(_ request: Request, admitted: Bool = true) async throws -> Principal {
        let principal = try await identify(request)
        if let record = principal.record {
            switch record.status {
            case .suspended:
                try await refuse(request, principal.account, "account_suspended", keyID: principal.keyID)
                throw ServiceError(.forbidden, "this account is suspended\(record.statusReason.map { ": \($0)" } ?? ""); contact the operator",
                                   klingCode: 1100, code: "account_suspended")
            case .waitlisted where admitted:
                let position = try await store.waitlistPosition(accountID: record.id) ?? 0
                try await refuse(request, principal.account, "account_waitlisted", keyID: principal.keyID)
                throw ServiceError(.forbidden, "this account is on the waitlist (number \(position)); you can use the service once an operator admits you",
                                   klingCode: 1100, code: "account_waitlisted")
            default:
                break
            }
        }
        return principal
    }

    /// Admins only.
    func admin(_ request: Request) async throws -> Principal {
        let principal = try await principal(request)
        guard principal.isAdmin else {
            try await refuse(request, principal.account, "not_admin", keyID: principal.keyID)
            throw ServiceError(.forbidden, "this needs an admin account", klingCode: 1103, code: "not_admin")
        }
        return principal
    }

    func identify(_ request: Request) async throws -> Principal {
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer ") else {
                try await refuse(request, "anonymous", "malformed_authorization")
                throw ServiceError(.unauthorized, "the Authorization header must be \"Bearer <API key or token>\"", klingCode: 1002, code: "invalid_credentials")
            }
            let credential = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
            if credential.isEmpty {
                try await refuse(request, "anonymous", "empty_credential")
                throw ServiceError(.unauthorized, "the Authorization header is empty after \"Bearer\"", klingCode: 1001, code: "missing_credentials")
            }
            if credential.hasPrefix("mvs_") { return try await session(credential, request) }
            if credential.split(separator: ".").count == 3 { return try await jwt(credential, request) }
            return try await apiKey(credential, request)
        }
        if let token = Self.cookie(request, Self.sessionCookie) {
            return try await session(token, request)
        }
        switch access {
        case .open: return Principal(account: "local", record: nil, isAdmin: true, via: .open)
        case .keys:
            try await refuse(request, "anonymous", "no_credentials")
            throw ServiceError(.unauthorized, "log in, or send an API key: Authorization: Bearer <key> (create one on your account page or with `moviola admin keys create`)",
                               klingCode: 1001, code: "missing_credentials")
        }
    }

    func apiKey(_ secret: String, _ request: Request) async throws -> Principal {
        if let key = try await store.apiKey(secret: secret) {
            guard key.scope == "api" else {
                try await refuse(request, key.account, "worker_key_on_api", keyID: key.id)
                throw ServiceError(.unauthorized, "this is a worker key; it only works on the internal worker API", klingCode: 1002, code: "invalid_credentials")
            }
            return try await principal(for: key, via: .apiKey)
        }
        if let revoked = try await store.apiKeyIncludingRevoked(secret: secret), let at = revoked.revokedAt {
            try await refuse(request, revoked.account, "key_revoked", keyID: revoked.id)
            throw ServiceError(.unauthorized, "the API key \(revoked.prefix)… was revoked on \(Self.date(at)); create a new one",
                               klingCode: 1002, code: "key_revoked")
        }
        try await refuse(request, "anonymous", "unknown_key")
        throw ServiceError(.unauthorized, "the API key is not valid (unknown); check that it was copied whole", klingCode: 1002, code: "invalid_credentials")
    }

    func jwt(_ token: String, _ request: Request) async throws -> Principal {
        let claims: KlingJWT.Claims
        do { claims = try KlingJWT.claims(token) } catch {
            try await refuse(request, "anonymous", "malformed_token")
            throw Self.jwtError(error)
        }
        guard let (key, sealed) = try await store.accessKey(claims.issuer) else {
            try await refuse(request, "anonymous", "unknown_access_key")
            throw ServiceError(.unauthorized, "the token's iss \(claims.issuer) is not an access key of this server", klingCode: 1002, code: "invalid_credentials")
        }
        if let at = key.revokedAt {
            try await refuse(request, key.account, "key_revoked", keyID: key.id)
            throw ServiceError(.unauthorized, "the access key \(claims.issuer) was revoked on \(Self.date(at)); create a new pair", klingCode: 1002, code: "key_revoked")
        }
        do {
            _ = try KlingJWT.verify(token, secret: try secrets.open(sealed), now: store.clock())
        } catch {
            let reason: String
            switch error as? KlingJWT.Failure {
            case .expired: reason = "token_expired"
            case .notYetValid: reason = "token_not_yet_valid"
            case .badSignature: reason = "token_bad_signature"
            default: reason = "malformed_token"
            }
            try await refuse(request, key.account, reason, keyID: key.id)
            throw Self.jwtError(error)
        }
        return try await principal(for: key, via: .accessKey)
    }

    static func jwtError(_ error: any Error) -> ServiceError {
        switch error as? KlingJWT.Failure {
        case .expired(let at):
            return ServiceError(.unauthorized, "the token expired at \(date(at)); mint a new one from your access key and secret key", klingCode: 1004, code: "token_expired")
        case .notYetValid(let at):
            return ServiceError(.unauthorized, "the token is not valid before \(date(at)) (its nbf); check your clock", klingCode: 1003, code: "token_not_yet_valid")
        case .badSignature:
            return ServiceError(.unauthorized, "the token's signature does not match its access key's secret key", klingCode: 1002, code: "invalid_credentials")
        case .malformed(let why):
            return ServiceError(.unauthorized, "the token is malformed: \(why)", klingCode: 1002, code: "invalid_credentials")
        case nil:
            return ServiceError(.unauthorized, "the token cannot be read: \(error)", klingCode: 1002, code: "invalid_credentials")
        }
    }

    func session(_ token: String, _ request: Request) async throws -> Principal {
        guard let accountID = try await store.sessionAccount(token: token), let record = try await store.account(id: accountID) else {
            try await refuse(request, "anonymous", "session_invalid")
            throw ServiceError(.unauthorized, "your session has ended; log in again", klingCode: 1002, code: "session_expired")
        }
        return Principal(account: record.id, record: record, isAdmin: record.isAdmin, via: .session)
    }

    func principal(for key: APIKeyRecord, via: Principal.Via) async throws -> Principal {
        guard let accountID = key.accountID else {
            // Operator keys (made with `moviola admin keys create`) act as their own unmetered account.
            return Principal(account: key.id, record: nil, isAdmin: false, via: via, keyID: key.id)
        }
        guard let record = try await store.account(id: accountID) else {
            throw ServiceError(.unauthorized, "the key's account no longer exists", klingCode: 1002, code: "invalid_credentials")
        }
        return Principal(account: record.id, record: record, isAdmin: record.isAdmin, via: via, keyID: key.id)
    }

    func refuse(_ request: Request, _ account: String, _ reason: String, keyID: String? = nil) async throws {
        var data: [String: any Sendable] = ["reason": reason, "method": request.method.rawValue, "path": request.uri.path]
        if let keyID { data["key_id"] = keyID }
        try await store.audit("auth.refused", actor: account, data: data)
    }

    /// The limits a principal's new generations are admitted under (none for the operator's own access).
    func admission(_ principal: Principal) -> Admission? {
        guard let record = principal.record else { return nil }
        let now = store.clock()
        return Admission(concurrencyLimit: record.concurrencyLimit ?? settings.defaultConcurrency,
                         dailyLimit: record.dailyLimit ?? settings.defaultDailyLimit,
                         credits: record.credits, dayStart: (now / 86_400).rounded(.down) * 86_400)
    }

    static func cookie(_ request: Request, _ name: String) -> String? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }

    static func date(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// Slows password guessing: after 10 failed log-ins for one address within 15 minutes, further
/// attempts for it are refused until the window has passed. The failures are kept in the store, so
/// every server process on one database counts the same ones and a restart forgets none.
struct LoginThrottle: Sendable {
    static let limit = 10
    static let window: Double = 15 * 60
    let store: Store

    /// Seconds until the address may try again, or nil if it may now.
    func blocked(_ email: String, now: Double) async throws -> Double? {
        let recent = try await store.loginFailures(email: email, since: now - Self.window)
        guard recent.count >= Self.limit else { return nil }
        // Allowed again once fewer than `limit` failures remain in the window.
        return recent[recent.count - Self.limit] + Self.window - now
    }

    func record(_ email: String, now: Double) async throws {
        try await store.recordLoginFailure(email: email, at: now, forgetBefore: now - Self.window)
    }

    func clear(_ email: String) async throws { try await store.clearLoginFailures(email: email) }
}
