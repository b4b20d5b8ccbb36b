import Foundation
import HTTPTypes
import Hummingbird
import MoviolaStore
import NIOCore

/// Sign-up, log-in, the account's keys, limits, webhook and real-name details, and the admin API.
extension Routes {
    func registerAccounts(on router: Router<MoviolaRequestContext>) {
        router.post("/api/v1/auth/signup") { request, context in await handle { try await signup(request, context) } }
        router.post("/api/v1/auth/login") { request, context in await handle { try await login(request, context) } }
        router.post("/api/v1/auth/logout") { request, _ in await handle { try await logout(request) } }
        router.get("/api/v1/account") { request, _ in await handle { try await accountDocument(request) } }
        router.get("/api/v1/account/limits") { request, _ in
            await handle { try Self.json(try await limits(access.principal(request, admitted: false))) }
        }
        router.get("/api/v1/account/keys") { request, _ in await handle { try await listKeys(request) } }
        router.post("/api/v1/account/keys") { request, context in await handle { try await createKey(request, context) } }
        router.delete("/api/v1/account/keys/:id") { request, context in await handle { try await revokeKey(request, context) } }
        router.get("/api/v1/account/webhook") { request, _ in await handle { try await webhookDocument(access.principal(request)) } }
        router.put("/api/v1/account/webhook") { request, context in await handle { try await setWebhook(request, context) } }
        router.post("/api/v1/account/redeem") { request, context in await handle { try await redeem(request, context) } }
        router.post("/api/v1/account/real-name") { request, context in await handle { try await submitRealName(request, context) } }
        router.get("/api/v1/webhooks/deliveries") { request, _ in await handle { try await deliveries(request) } }
        router.post("/api/v1/webhooks/deliveries/:id/redeliver") { request, context in await handle { try await redeliver(request, context) } }

        router.get("/api/v1/admin/accounts") { request, _ in await handle { try await adminAccounts(request) } }
        router.post("/api/v1/admin/accounts/:id/:action") { request, context in await handle { try await adminAccountAction(request, context) } }
        router.patch("/api/v1/admin/accounts/:id") { request, context in await handle { try await adminSetLimits(request, context) } }
        router.get("/api/v1/admin/invitations") { request, _ in await handle { try await adminInvitations(request) } }
        router.post("/api/v1/admin/invitations") { request, context in await handle { try await adminInvite(request, context) } }
        router.delete("/api/v1/admin/invitations/:code") { request, context in await handle { try await adminRevokeInvitation(request, context) } }
        router.get("/api/v1/admin/audit") { request, _ in await handle { try await adminAuditVerify(request) } }
    }

    // MARK: sign-up and sessions

    func signup(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let object = try Self.jsonObject(try await Self.body(request, context))
        guard let email = (object["email"] as? String)?.trimmingCharacters(in: .whitespaces).lowercased(),
              email.count <= 254, email.wholeMatch(of: /[^@\s]+@[^@\s]+\.[^@\s]+/) != nil else {
            throw ServiceError(.badRequest, "email must be an e-mail address such as you@example.com", field: "email")
        }
        guard let password = object["password"] as? String else { throw ServiceError(.badRequest, "password is required", field: "password") }
        try PasswordHasher.check(password)
        let invitation = (object["invitation"] as? String)?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        let settings = access.settings
        if invitation == nil {
            switch settings.signup {
            case .closed: throw ServiceError(.forbidden, "sign-up is closed on this server; ask the operator for an account", code: "signup_closed")
            case .invite: throw ServiceError(.forbidden, "this server admits new accounts by invitation only: enter your invitation code", field: "invitation", code: "invitation_required")
            case .open, .waitlist: break
            }
        }
        let hash = try PasswordHasher.hash(password, cost: settings.bcryptCost)
        let record: AccountRecord
        do {
            record = try await store.createAccount(email: email, passwordHash: hash, role: "user",
                                                   status: settings.signup == .open ? .active : .waitlisted, invitationCode: invitation)
        } catch let exists as AccountExists {
            throw ServiceError(.conflict, exists.description, field: "email", code: "account_exists")
        } catch let unusable as InvitationUnusable {
            try await store.audit("account.signup_refused", actor: "anonymous", data: ["reason": "invitation_unusable"], personal: ["email": email])
            throw ServiceError(.badRequest, unusable.description, field: "invitation", code: "invitation_invalid")
        }
        if let credits = settings.signupCredits { try await store.setLimits(id: record.id, concurrency: nil, daily: nil, credits: credits) }
        try await store.audit("account.created", actor: record.id, subject: record.id,
                              data: ["status": record.status.rawValue, "via": invitation == nil ? "signup" : "invitation"], personal: ["email": email])
        var response = try Self.json(try await accountJSON(store.account(id: record.id) ?? record), status: .created)
        try await startSession(record, into: &response)
        return response
    }

    func login(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let object = try Self.jsonObject(try await Self.body(request, context))
        guard let email = (object["email"] as? String)?.trimmingCharacters(in: .whitespaces).lowercased(), !email.isEmpty,
              let password = object["password"] as? String, !password.isEmpty else {
            throw ServiceError(.badRequest, "give email and password")
        }
        let now = store.clock()
        if let wait = try await access.loginFailures.blocked(email, now: now) {
            try await store.audit("login.failed", actor: "anonymous", data: ["reason": "throttled"], personal: ["email": email])
            throw ServiceError(.tooManyRequests, "too many wrong passwords for this address; try again in \(Int(wait / 60) + 1) minutes", code: "login_throttled")
        }
        let record = try await store.account(email: email)
        // An unknown address costs the same bcrypt work as a known one, so timing does not reveal accounts.
        let valid = PasswordHasher.verify(password, hash: record?.passwordHash ?? Self.dummyHash)
        guard let record, valid else {
            try await access.loginFailures.record(email, now: now)
            try await store.audit("login.failed", actor: record?.id ?? "anonymous", subject: record?.id,
                                  data: ["reason": record == nil ? "unknown_email" : "wrong_password"], personal: ["email": email])
            throw ServiceError(.unauthorized, "the e-mail address or the password is wrong", code: "invalid_login")
        }
        if record.status == .suspended {
            try await store.audit("login.failed", actor: record.id, subject: record.id, data: ["reason": "account_suspended"])
            throw ServiceError(.forbidden, "this account is suspended\(record.statusReason.map { ": \($0)" } ?? ""); contact the operator", code: "account_suspended")
        }
        try await access.loginFailures.clear(email)
        try await store.recordLogin(accountID: record.id)
        try await store.audit("login.succeeded", actor: record.id, subject: record.id, data: [:])
        var response = try Self.json(try await accountJSON(record))
        try await startSession(record, into: &response)
        return response
    }

    func startSession(_ record: AccountRecord, into response: inout Response) async throws {
        let token = try await store.createSession(accountID: record.id, lifetime: access.settings.sessionSeconds)
        response.headers[.setCookie] = "\(AccessControl.sessionCookie)=\(token); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(Int(access.settings.sessionSeconds))"
    }

    func logout(_ request: Request) async throws -> Response {
        if let token = AccessControl.cookie(request, AccessControl.sessionCookie) ?? request.headers[.authorization].flatMap({ header in
            header.hasPrefix("Bearer mvs_") ? String(header.dropFirst(7)) : nil
        }) {
            if let account = try await store.sessionAccount(token: token) {
                try await store.audit("logout", actor: account, subject: account, data: [:])
            }
            try await store.revokeSession(token: token)
        }
        var response = try Self.json(["logged_out": true])
        response.headers[.setCookie] = "\(AccessControl.sessionCookie)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        return response
    }

    /// A bcrypt hash of nothing anyone knows, verified against when the e-mail address is unknown.
    static let dummyHash = (try? PasswordHasher.hash(UUID().uuidString)) ?? "$2b$11$......................................................"

    // MARK: the account

    func accountDocument(_ request: Request) async throws -> Response {
        let principal = try await access.principal(request, admitted: false)
        guard let record = principal.record else {
            return try Self.json(["id": principal.account, "object": "account", "role": principal.isAdmin ? "admin" : "operator_key",
                                  "status": "active", "via": principal.via.rawValue, "limits": try await limits(principal)])
        }
        return try Self.json(try await accountJSON(record))
    }

    func accountJSON(_ record: AccountRecord) async throws -> [String: Any] {
        var document: [String: Any] = [
            "id": record.id, "object": "account", "email": record.email, "role": record.role, "status": record.status.rawValue,
            "status_reason": record.statusReason as Any? ?? NSNull(), "real_name": record.realNameState,
            "real_name_required": access.settings.requireRealName,
            "created_at": JSON.iso8601(record.createdAt), "approved_at": JSON.iso8601(record.approvedAt),
        ]
        if record.status == .waitlisted { document["waitlist_position"] = try await store.waitlistPosition(accountID: record.id) ?? NSNull() }
        document["limits"] = try await limits(Principal(account: record.id, record: record, isAdmin: record.isAdmin, via: .session))
        return document
    }

    /// What the account may still do: generations at a time, today, and credits.
    func limits(_ principal: Principal) async throws -> [String: Any] {
        let now = store.clock()
        let dayStart = (now / 86_400).rounded(.down) * 86_400
        let usage = try await store.usage(account: principal.account, dayStart: dayStart)
        guard let admission = access.admission(principal) else {
            return ["metered": false, "concurrency": ["limit": NSNull(), "in_flight": usage.inFlight],
                    "daily": ["limit": NSNull(), "used": usage.today], "credits": ["granted": NSNull(), "charged": usage.creditsCharged,
                                                                                   "reserved": usage.creditsReserved, "available": NSNull()]]
        }
        let credits: [String: Any] = [
            "granted": admission.credits as Any? ?? NSNull(), "charged": usage.creditsCharged, "reserved": usage.creditsReserved,
            "available": admission.credits.map { max(0, $0 - usage.creditsCharged - usage.creditsReserved) as Any } ?? NSNull(),
            "unit": "one credit per started second of video; only succeeded generations are charged",
        ]
        return [
            "metered": true,
            "concurrency": ["limit": admission.concurrencyLimit as Any? ?? NSNull(), "in_flight": usage.inFlight,
                            "available": admission.concurrencyLimit.map { max(0, $0 - usage.inFlight) as Any } ?? NSNull()],
            "daily": ["limit": admission.dailyLimit as Any? ?? NSNull(), "used": usage.today,
                      "available": admission.dailyLimit.map { max(0, $0 - usage.today) as Any } ?? NSNull(),
                      "resets_at": JSON.iso8601(dayStart + 86_400)],
            "credits": credits,
        ]
    }

    // MARK: keys

    func listKeys(_ request: Request) async throws -> Response {
        let principal = try await access.principal(request)
        guard principal.record != nil else { throw ServiceError(.badRequest, "operator keys are managed with `moviola admin keys`") }
        let keys = try await store.apiKeys().filter { $0.accountID == principal.account }
        return try Self.json(["data": keys.map(keyJSON)])
    }

    func keyJSON(_ key: APIKeyRecord) -> [String: Any] {
        var document: [String: Any] = ["id": key.id, "name": key.name, "type": key.accessKey == nil ? "api_key" : "access_key",
                                       "prefix": key.prefix, "created_at": JSON.iso8601(key.createdAt),
                                       "last_used_at": JSON.iso8601(key.lastUsedAt), "revoked_at": JSON.iso8601(key.revokedAt)]
        if let ak = key.accessKey { document["access_key"] = ak }
        return document
    }

    func createKey(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        guard principal.record != nil else { throw ServiceError(.badRequest, "operator keys are made with `moviola admin keys create`") }
        let object = try Self.jsonObject(try await Self.body(request, context))
        let name = ((object["name"] as? String) ?? "key").trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else { throw ServiceError(.badRequest, "name must be 1 to 100 characters", field: "name") }
        let type = object["type"] as? String ?? "api_key"
        var document: [String: Any]
        switch type {
        case "api_key":
            let (record, secret) = try await store.createAPIKey(name: name, scope: "api", accountID: principal.account)
            document = keyJSON(record)
            document["secret"] = secret
        case "access_key":
            let secret = "SK" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)
            let (record, accessKey) = try await store.createAccessKey(accountID: principal.account, name: name, sealedSecret: try access.secrets.seal(secret))
            document = keyJSON(record)
            document["access_key"] = accessKey
            document["secret_key"] = secret
        default:
            throw ServiceError(.badRequest, "type must be api_key (a bearer key) or access_key (a Kling-style AK/SK pair for JWTs)", field: "type")
        }
        document["note"] = "the secret is shown only now; store it safely"
        try await store.audit("key.created", actor: principal.account, subject: document["id"] as? String, data: ["type": type])
        return try Self.json(document, status: .created)
    }

    func revokeKey(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let id = try context.parameters.require("id")
        guard let key = try await store.apiKey(id: id), key.accountID == principal.account || principal.isAdmin else {
            throw ServiceError(.notFound, "no key \(id)")
        }
        guard try await store.revokeAPIKey(id: id) else { throw ServiceError(.conflict, "key \(id) is already revoked") }
        try await store.audit("key.revoked", actor: principal.account, subject: id, data: ["owner": key.account])
        return try Self.json(["id": id, "revoked": true])
    }

    // MARK: webhooks

    func webhookSecret(account: String) async throws -> String {
        if let record = try await store.account(id: account) { return record.webhookSecret }
        return "whsec_" + access.secrets.derivedKey("webhooks").withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    func webhookDocument(_ principal: Principal) async throws -> Response {
        try Self.json(["url": principal.record?.webhookURL as Any? ?? NSNull(), "secret": try await webhookSecret(account: principal.account),
                       "signature_header": "Moviola-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>",
                       "events": Store.webhookEvents.sorted()])
    }

    func setWebhook(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        guard principal.record != nil else { throw ServiceError(.badRequest, "an account webhook needs an account; use callback_url per generation") }
        let object = try Self.jsonObject(try await Self.body(request, context))
        let url = object["url"] as? String
        if let url { try WebhookURL.check(url, allowPrivate: access.settings.allowPrivateWebhooks, field: "url") }
        try await store.setWebhook(accountID: principal.account, url: url)
        try await store.audit("webhook.set", actor: principal.account, subject: principal.account, data: ["enabled": url != nil])
        return try await webhookDocument(access.principal(request))
    }

    func deliveries(_ request: Request) async throws -> Response {
        let principal = try await access.principal(request)
        let generation = request.uri.queryParameters["generation_id"].map(String.init)
        if let generation { _ = try await owned(generation, principal) }
        let rows = try await store.webhookDeliveries(account: principal.via == .open ? nil : principal.account, generationID: generation)
        return try Self.json(["data": rows.map { d -> [String: Any] in
            ["id": d.id, "dedupe_key": d.dedupeKey, "generation_id": d.generationID, "event": d.eventKind, "sequence": d.eventSeq,
             "target": d.target, "url": d.url, "state": d.state, "attempts": d.attempts, "last_status": d.lastStatus as Any? ?? NSNull(),
             "last_error": d.lastError as Any? ?? NSNull(), "next_attempt_at": d.state == "pending" ? JSON.iso8601(d.nextAttemptAt) : NSNull(),
             "created_at": JSON.iso8601(d.createdAt), "delivered_at": JSON.iso8601(d.deliveredAt)]
        }])
    }

    func redeliver(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request)
        let id = try context.parameters.require("id")
        guard let delivery = try await store.webhookDelivery(id: id), delivery.account == principal.account || principal.isAdmin else {
            throw ServiceError(.notFound, "no webhook delivery \(id)")
        }
        _ = try await store.redeliverWebhook(id: id)
        plane.webhookPulse.fire()
        try await store.audit("webhook.redelivered", actor: principal.account, subject: id, data: ["generation_id": delivery.generationID])
        return try Self.json(["id": id, "state": "pending"], status: .accepted)
    }

    func redeem(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request, admitted: false)
        guard let record = principal.record else { throw ServiceError(.badRequest, "invitations admit accounts") }
        guard record.status == .waitlisted else { throw ServiceError(.conflict, "this account is already \(record.status.rawValue)") }
        let object = try Self.jsonObject(try await Self.body(request, context))
        guard let code = (object["invitation"] as? String)?.trimmingCharacters(in: .whitespaces), !code.isEmpty else {
            throw ServiceError(.badRequest, "enter an invitation code", field: "invitation")
        }
        do {
            let after = try await store.redeemInvitation(accountID: record.id, code: code)
            try await store.audit("account.invitation_redeemed", actor: record.id, subject: record.id, data: [:])
            return try Self.json(try await accountJSON(after ?? record))
        } catch let unusable as InvitationUnusable {
            throw ServiceError(.badRequest, unusable.description, field: "invitation", code: "invitation_invalid")
        }
    }

    // MARK: real name

    func submitRealName(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let principal = try await access.principal(request, admitted: false)
        guard principal.record != nil else { throw ServiceError(.badRequest, "real-name details belong to an account") }
        let object = try Self.jsonObject(try await Self.body(request, context))
        guard let name = (object["full_name"] as? String)?.trimmingCharacters(in: .whitespaces), (2...100).contains(name.count) else {
            throw ServiceError(.badRequest, "full_name must be 2 to 100 characters", field: "full_name")
        }
        guard let number = (object["id_number"] as? String)?.trimmingCharacters(in: .whitespaces),
              number.wholeMatch(of: /[0-9A-Za-z\-]{6,32}/) != nil else {
            throw ServiceError(.badRequest, "id_number must be 6 to 32 letters, digits or dashes", field: "id_number")
        }
        try await store.submitRealName(accountID: principal.account, fullName: name, idNumber: number)
        try await store.audit("real_name.submitted", actor: principal.account, subject: principal.account, data: [:])
        return try Self.json(["real_name": "pending"], status: .accepted)
    }

    // MARK: admin

    func adminAccounts(_ request: Request) async throws -> Response {
        _ = try await access.admin(request)
        var status: AccountStatus?
        if let text = request.uri.queryParameters["status"] {
            guard let parsed = AccountStatus(rawValue: String(text)) else {
                throw ServiceError(.badRequest, "status must be one of \(AccountStatus.allCases.map(\.rawValue).joined(separator: ", "))", field: "status")
            }
            status = parsed
        }
        var items: [[String: Any]] = []
        for record in try await store.accounts(status: status) {
            var document = try await accountJSON(record)
            if record.realNameState != "none", let details = try await store.realName(accountID: record.id) {
                document["real_name_details"] = ["full_name": details.fullName, "id_number": details.idNumber,
                                                 "submitted_at": JSON.iso8601(details.submittedAt)]
            }
            items.append(document)
        }
        return try Self.json(["data": items])
    }

    func adminAccountAction(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let admin = try await access.admin(request)
        let id = try context.parameters.require("id")
        let action = try context.parameters.require("action")
        guard var record = try await store.account(id: id) else { throw ServiceError(.notFound, "no account \(id)") }
        let object = (try? Self.jsonObject(try await Self.body(request, context))) ?? [:]
        var data: [String: any Sendable] = [:]
        switch action {
        case "approve", "reinstate":
            record = try await store.setAccountStatus(id: id, status: .active, reason: nil) ?? record
        case "suspend":
            guard id != admin.account else { throw ServiceError(.conflict, "an admin cannot suspend their own account") }
            let reason = (object["reason"] as? String)?.nilIfEmpty ?? "suspended by an operator"
            record = try await store.setAccountStatus(id: id, status: .suspended, reason: reason) ?? record
            try await store.revokeSessions(accountID: id)
            data["reason"] = reason
        case "verify-real-name", "reject-real-name":
            guard try await store.reviewRealName(accountID: id, verified: action == "verify-real-name", reviewer: admin.account) else {
                throw ServiceError(.conflict, "account \(id) has not submitted real-name details")
            }
        case "erase-personal-data":
            data["erased_audit_fields"] = try await store.erasePersonalData(accountID: id)
        default:
            throw ServiceError(.notFound, "unknown action \(action); actions: approve, suspend, reinstate, verify-real-name, reject-real-name, erase-personal-data")
        }
        try await store.audit("admin.\(action)", actor: admin.account, subject: id, data: data)
        return try Self.json(try await accountJSON(store.account(id: id) ?? record))
    }

    func adminSetLimits(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let admin = try await access.admin(request)
        let id = try context.parameters.require("id")
        guard try await store.account(id: id) != nil else { throw ServiceError(.notFound, "no account \(id)") }
        let object = try Self.jsonObject(try await Self.body(request, context))
        var values: [String: Int] = [:]
        var clear: Set<String> = []
        for key in ["concurrency_limit", "daily_limit", "credits"] where object.keys.contains(key) {
            if object[key] is NSNull { clear.insert(key); continue }
            guard let n = object[key] as? Int, n >= 0 else { throw ServiceError(.badRequest, "\(key) must be a whole number ≥ 0 or null", field: key) }
            values[key] = n
        }
        if let role = object["role"] as? String {
            guard ["user", "admin"].contains(role) else { throw ServiceError(.badRequest, "role must be user or admin", field: "role") }
            try await store.setAccountRole(id: id, role: role)
        }
        try await store.setLimits(id: id, concurrency: values["concurrency_limit"], daily: values["daily_limit"], credits: values["credits"], clear: clear)
        var data: [String: any Sendable] = [:]
        for (k, v) in values { data[k] = v }
        if let role = object["role"] as? String { data["role"] = role }
        if !clear.isEmpty { data["cleared"] = clear.sorted().joined(separator: ",") }
        try await store.audit("admin.set_limits", actor: admin.account, subject: id, data: data)
        return try Self.json(try await accountJSON(store.account(id: id)!))
    }

    func adminInvitations(_ request: Request) async throws -> Response {
        _ = try await access.admin(request)
        return try Self.json(["data": try await store.invitations().map(invitationJSON)])
    }

    func invitationJSON(_ i: InvitationRecord) -> [String: Any] {
        ["code": i.code, "note": i.note, "max_uses": i.maxUses, "uses": i.uses, "created_by": i.createdBy,
         "created_at": JSON.iso8601(i.createdAt), "expires_at": JSON.iso8601(i.expiresAt), "revoked_at": JSON.iso8601(i.revokedAt)]
    }

    func adminInvite(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let admin = try await access.admin(request)
        let object = try Self.jsonObject(try await Self.body(request, context))
        let uses = object["max_uses"] as? Int ?? 1
        guard (1...10_000).contains(uses) else { throw ServiceError(.badRequest, "max_uses must be 1 to 10000", field: "max_uses") }
        let days = object["expires_in_days"] as? Double
        let invitation = try await store.createInvitation(createdBy: admin.account, note: object["note"] as? String ?? "", maxUses: uses,
                                                          expiresAt: days.map { store.clock() + $0 * 86_400 })
        try await store.audit("admin.invitation_created", actor: admin.account, subject: invitation.code, data: ["max_uses": uses])
        return try Self.json(invitationJSON(invitation), status: .created)
    }

    func adminRevokeInvitation(_ request: Request, _ context: MoviolaRequestContext) async throws -> Response {
        let admin = try await access.admin(request)
        let code = try context.parameters.require("code")
        guard try await store.revokeInvitation(code: code) else { throw ServiceError(.notFound, "no live invitation \(code)") }
        try await store.audit("admin.invitation_revoked", actor: admin.account, subject: code, data: [:])
        return try Self.json(["code": code, "revoked": true])
    }

    func adminAuditVerify(_ request: Request) async throws -> Response {
        let admin = try await access.admin(request)
        let report = try await plane.auditSigner.verify(store)
        try await store.audit("admin.audit_verified", actor: admin.account, data: ["intact": report.intact])
        return try Self.json(["intact": report.intact, "entries": report.entries, "pruned": report.pruned, "checkpoints": report.checkpoints,
                              "verified_checkpoints": report.verifiedCheckpoints, "problems": report.problems])
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
