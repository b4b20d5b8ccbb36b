import ArgumentParser
import Foundation
import MoviolaProvenance
import MoviolaServer
import MoviolaStore

extension Admin {
    /// `moviola admin accounts`: the waitlist, approvals, suspensions, limits and real-name checks.
    struct Accounts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, create, approve, suspend and reinstate accounts; set their limits; check real-name details.",
            subcommands: [List.self, Create.self, Approve.self, Suspend.self, Reinstate.self, Limits.self, RealName.self, Erase.self])

        static func find(_ store: Store, _ who: String) async throws -> AccountRecord {
            if let record = try await store.account(id: who) { return record }
            if let record = try await store.account(email: who) { return record }
            throw fail("no account \(who) (give its ID or e-mail address)")
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Accounts, oldest first (the waitlist in order with --status waitlisted).")
            @OptionGroup var storage: ServiceDataOptions
            @Option(help: "waitlisted, active or suspended.") var status: String?

            func run() async throws {
                var filter: AccountStatus?
                if let status {
                    guard let parsed = AccountStatus(rawValue: status) else { throw fail("--status must be waitlisted, active or suspended") }
                    filter = parsed
                }
                let chosen = filter
                let accounts = try await Admin.withStore(storage) { try await $0.accounts(status: chosen) }
                for a in accounts {
                    let limits = "concurrency \(a.concurrencyLimit.map(String.init) ?? "default") daily \(a.dailyLimit.map(String.init) ?? "default") credits \(a.credits.map(String.init) ?? "unmetered")"
                    print("\(a.id)\t\(a.email)\t\(a.role)\t\(a.status.rawValue)\(a.statusReason.map { " (\($0))" } ?? "")\treal-name \(a.realNameState)\t\(limits)")
                }
                if accounts.isEmpty { notice("no accounts") }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create an active account (the first admin, for instance); the password is read from standard input.")
            @OptionGroup var storage: ServiceDataOptions
            @Option(help: "E-mail address.") var email: String
            @Flag(help: "An admin account.") var admin = false

            func run() async throws {
                guard let password = readLine(strippingNewline: true) else { throw fail("give the password on standard input") }
                do { try PasswordHasher.check(password) } catch { throw fail("\(error)") }
                let hash = try PasswordHasher.hash(password)
                let (email, role) = (self.email.lowercased(), admin ? "admin" : "user")
                let record = try await Admin.withStore(storage) { store in
                    let record = try await store.createAccount(email: email, passwordHash: hash, role: role, status: .active)
                    try await store.audit("admin.account_created", actor: "operator-cli", subject: record.id, data: ["role": role], personal: ["email": email])
                    return record
                }
                print(record.id)
                notice("created \(role) account \(record.id) for \(email)")
            }
        }

        static func setStatus(_ storage: ServiceDataOptions, _ who: String, _ status: AccountStatus, reason: String?, action: String) async throws {
            let record = try await Admin.withStore(storage) { store -> AccountRecord in
                let found = try await Accounts.find(store, who)
                let after = try await store.setAccountStatus(id: found.id, status: status, reason: reason) ?? found
                if status == .suspended { try await store.revokeSessions(accountID: found.id) }
                var data: [String: any Sendable] = [:]
                if let reason { data["reason"] = reason }
                try await store.audit("admin.\(action)", actor: "operator-cli", subject: found.id, data: data)
                return after
            }
            notice("\(record.id) (\(record.email)) is now \(record.status.rawValue)")
        }

        struct Approve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Admit a waitlisted account.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String
            func run() async throws { try await Accounts.setStatus(storage, account, .active, reason: nil, action: "approve") }
        }

        struct Suspend: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Suspend an account (its sessions end; its keys stop working).")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String
            @Option(help: "Why (shown to the account holder).") var reason = "suspended by an operator"
            func run() async throws { try await Accounts.setStatus(storage, account, .suspended, reason: reason, action: "suspend") }
        }

        struct Reinstate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Lift a suspension.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String
            func run() async throws { try await Accounts.setStatus(storage, account, .active, reason: nil, action: "reinstate") }
        }

        struct Limits: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set an account's concurrency, daily limit and granted credits.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String
            @Option(help: "Generations at once.") var concurrency: Int?
            @Option(help: "Generations per UTC day.") var daily: Int?
            @Option(help: "Credits granted in total (one per second of video).") var credits: Int?

            func run() async throws {
                let (who, concurrency, daily, credits) = (account, self.concurrency, self.daily, self.credits)
                for value in [concurrency, daily, credits].compactMap({ $0 }) where value < 0 { throw fail("limits must be ≥ 0") }
                try await Admin.withStore(storage) { store in
                    let found = try await Accounts.find(store, who)
                    try await store.setLimits(id: found.id, concurrency: concurrency, daily: daily, credits: credits)
                    var data: [String: any Sendable] = [:]
                    if let concurrency { data["concurrency_limit"] = concurrency }
                    if let daily { data["daily_limit"] = daily }
                    if let credits { data["credits"] = credits }
                    try await store.audit("admin.set_limits", actor: "operator-cli", subject: found.id, data: data)
                }
                notice("limits of \(who) updated")
            }
        }

        struct RealName: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "real-name", abstract: "Show an account's real-name details, or verify or reject them.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String
            @Flag(help: "Mark the details verified.") var verify = false
            @Flag(help: "Reject the details.") var reject = false

            func run() async throws {
                guard !(verify && reject) else { throw fail("give --verify or --reject, not both") }
                let (who, verify, reject) = (account, self.verify, self.reject)
                try await Admin.withStore(storage) { store in
                    let found = try await Accounts.find(store, who)
                    guard let details = try await store.realName(accountID: found.id) else { throw fail("\(who) has not submitted real-name details") }
                    if verify || reject {
                        _ = try await store.reviewRealName(accountID: found.id, verified: verify, reviewer: "operator-cli")
                        try await store.audit(verify ? "admin.verify-real-name" : "admin.reject-real-name", actor: "operator-cli", subject: found.id)
                        notice("real-name details of \(found.email) \(verify ? "verified" : "rejected")")
                    } else {
                        print("\(details.fullName)\t\(details.idNumber)\tstate \(found.realNameState)")
                    }
                }
            }
        }

        struct Erase: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "erase-personal-data",
                                                            abstract: "Erase an account's real-name details and the personal fields of its audit entries (the log still verifies).")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "Account ID or e-mail address.") var account: String

            func run() async throws {
                let who = account
                let erased = try await Admin.withStore(storage) { store -> Int in
                    let found = try await Accounts.find(store, who)
                    let n = try await store.erasePersonalData(accountID: found.id)
                    try await store.audit("admin.erase-personal-data", actor: "operator-cli", subject: found.id, data: ["erased_audit_fields": n])
                    return n
                }
                notice("erased real-name details and \(erased) personal audit field set(s) of \(who)")
            }
        }
    }

    /// `moviola admin invitations`: codes that admit new accounts without waiting.
    struct Invitations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create, list and revoke invitation codes.", subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a code; it is printed.")
            @OptionGroup var storage: ServiceDataOptions
            @Option(help: "How many accounts it admits.") var uses = 1
            @Option(help: "Days until it expires (default: never).") var expiresInDays: Double?
            @Option(help: "A note for yourself.") var note = ""

            func run() async throws {
                guard (1...10_000).contains(uses) else { throw fail("--uses must be 1 to 10000") }
                let (uses, days, note) = (self.uses, expiresInDays, self.note)
                let invitation = try await Admin.withStore(storage) { store in
                    let made = try await store.createInvitation(createdBy: "operator-cli", note: note, maxUses: uses,
                                                                expiresAt: days.map { Date().timeIntervalSince1970 + $0 * 86_400 })
                    try await store.audit("admin.invitation_created", actor: "operator-cli", subject: made.code, data: ["max_uses": uses])
                    return made
                }
                print(invitation.code)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Invitation codes, newest first.")
            @OptionGroup var storage: ServiceDataOptions

            func run() async throws {
                let items = try await Admin.withStore(storage) { try await $0.invitations() }
                for i in items {
                    print("\(i.code)\t\(i.uses)/\(i.maxUses) used\t\(i.revokedAt == nil ? "live" : "revoked")\t\(i.note)")
                }
                if items.isEmpty { notice("no invitations") }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a code.")
            @OptionGroup var storage: ServiceDataOptions
            @Argument(help: "The code.") var code: String

            func run() async throws {
                let code = self.code
                guard try await Admin.withStore(storage, { store in
                    let done = try await store.revokeInvitation(code: code)
                    if done { try await store.audit("admin.invitation_revoked", actor: "operator-cli", subject: code) }
                    return done
                }) else { throw fail("no live invitation \(code)") }
                notice("revoked \(code)")
            }
        }
    }
}

/// `moviola audit`: checks the tamper-evident audit log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the audit log, sign a checkpoint, or list recent entries.",
        subcommands: [VerifyLog.self, Checkpoint.self, Tail.self])

    static func signer(_ storage: ServiceDataOptions) throws -> AuditSigner {
        let authority = CertificateAuthority(directory: (storage.dataDirectory as NSString).appendingPathComponent("ca"))
        guard authority.exists else { throw fail("no signing CA in \(authority.directory); the audit log's checkpoints are signed with it") }
        return AuditSigner(identity: try authority.load())
    }

    struct VerifyLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Prove the log intact: every entry against its hash, the hash chain, gaps, and every signed checkpoint's Merkle root (RFC 6962).")
        @OptionGroup var storage: ServiceDataOptions
        @Flag(help: "Print the report as JSON.") var json = false

        func run() async throws {
            let signer = try Audit.signer(storage)
            let report = try await Admin.withStore(storage) { try await signer.verify($0) }
            if json {
                let object: [String: Any] = ["intact": report.intact, "entries": report.entries, "pruned": report.pruned,
                                             "checkpoints": report.checkpoints, "verified_checkpoints": report.verifiedCheckpoints,
                                             "problems": report.problems]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else if report.intact {
                print("audit log intact: \(report.entries) entries (\(report.pruned) past retention, hashes only), \(report.verifiedCheckpoints) of \(report.checkpoints) signed checkpoints verified")
            } else {
                print("audit log NOT intact (\(report.entries) entries, \(report.checkpoints) checkpoints):")
                for problem in report.problems { print("  - \(problem)") }
            }
            if !report.intact { throw ExitCode(1) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a checkpoint over the entries so far (the server does this every minute).")
        @OptionGroup var storage: ServiceDataOptions

        func run() async throws {
            let signer = try Audit.signer(storage)
            if let checkpoint = try await Admin.withStore(storage, { try await signer.checkpoint($0) }) {
                print("signed checkpoint: \(checkpoint.treeSize) entries, root \(checkpoint.rootHash)")
            } else {
                notice("nothing new to sign")
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest entries (without personal fields).")
        @OptionGroup var storage: ServiceDataOptions
        @Option(help: "How many.") var limit = 20

        func run() async throws {
            let limit = self.limit
            let entries = try await Admin.withStore(storage) { store -> [AuditEntry] in
                let last = try await store.auditEntries(after: 0, limit: 1_000_000).suffix(limit)
                return Array(last)
            }
            for entry in entries { print(entry.leaf ?? "{\"seq\":\(entry.seq),\"pruned\":true}") }
        }
    }
}
