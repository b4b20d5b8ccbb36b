import Crypto
import Foundation
import MoviolaStore
import Testing

extension StoreConformanceTests {
    @Test("limits are checked in the queueing transaction: concurrent requests cannot overrun them; only successes are charged",
          arguments: Backend.available)
    func admission(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            let account = try await store.createAccount(email: "A@Example.com", passwordHash: "$2b$x", role: "user", status: .active)
            #expect(account.email == "a@example.com")
            let limits = Admission(concurrencyLimit: 2, dailyLimit: 10, credits: 5, dayStart: 0)
            func attempt(_ n: Int, cost: Int = 1) async -> Bool {
                var new = newGeneration(n, account: account.id)
                new.cost = cost
                new.admission = limits
                do { _ = try await store.createGeneration(new); return true } catch is QuotaExceeded { return false } catch { return false }
            }
            let results = await withTaskGroup(of: Bool.self) { group in
                for n in 0..<6 { group.addTask { await attempt(n) } }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 2)
            var usage = try await store.usage(account: account.id, dayStart: 0)
            #expect(usage.inFlight == 2 && usage.creditsReserved == 2 && usage.creditsCharged == 0)
            // One succeeds (charged), one fails (released, never charged).
            let first = try #require(try await store.claim(worker: "w", models: []))
            _ = try await store.complete(jobID: first.jobID, worker: "w", attempt: 1, video: .init(key: "k", bytes: 1, sha256: "s"), receipt: "{}")
            let second = try #require(try await store.claim(worker: "w", models: []))
            try await store.fail(jobID: second.jobID, worker: "w", attempt: 1, disposition: .final(code: "x"), message: "bad")
            usage = try await store.usage(account: account.id, dayStart: 0)
            #expect(usage.inFlight == 0 && usage.creditsCharged == 1 && usage.creditsReserved == 0)
            // 1 charged + 4 wanted ≤ 5; then nothing is left.
            #expect(await attempt(10, cost: 4))
            do {
                var over = newGeneration(11, account: account.id)
                over.cost = 1
                over.admission = limits
                _ = try await store.createGeneration(over)
                Issue.record("over the credits, yet admitted")
            } catch let quota as QuotaExceeded {
                #expect(quota.kind == .credits)
            }
        }
    }

    @Test("waitlist order, invitations that run out, sessions that end", arguments: Backend.available)
    func accounts(_ backend: Backend) async throws {
        let clock = TestClock()
        try await withStore(backend, clock: clock) { store in
            let a = try await store.createAccount(email: "a@x.org", passwordHash: "h", role: "user", status: .waitlisted)
            let b = try await store.createAccount(email: "b@x.org", passwordHash: "h", role: "user", status: .waitlisted)
            #expect(try await store.waitlistPosition(accountID: b.id) == 2)
            try await store.setAccountStatus(id: a.id, status: .active, reason: nil)
            #expect(try await store.waitlistPosition(accountID: b.id) == 1)
            #expect(try await store.waitlistPosition(accountID: a.id) == nil)
            await #expect(throws: AccountExists.self) { try await store.createAccount(email: "A@x.org", passwordHash: "h", role: "user", status: .active) }
            let invitation = try await store.createInvitation(createdBy: "op", note: "", maxUses: 1, expiresAt: nil)
            let invited = try await store.createAccount(email: "c@x.org", passwordHash: "h", role: "user", status: .waitlisted, invitationCode: invitation.code)
            #expect(invited.status == .active)
            await #expect(throws: InvitationUnusable.self) {
                try await store.createAccount(email: "d@x.org", passwordHash: "h", role: "user", status: .waitlisted, invitationCode: invitation.code)
            }
            #expect(try await store.account(email: "d@x.org") == nil)
            let token = try await store.createSession(accountID: a.id, lifetime: 60)
            #expect(try await store.sessionAccount(token: token) == a.id)
            clock.advance(61)
            #expect(try await store.sessionAccount(token: token) == nil)
            let other = try await store.createSession(accountID: a.id, lifetime: 60)
            try await store.revokeSessions(accountID: a.id)
            #expect(try await store.sessionAccount(token: other) == nil)
        }
    }

    @Test("failed log-ins are kept per address as hashes, read by window, forgotten when old or cleared", arguments: Backend.available)
    func loginFailures(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            for time in [100.0, 200, 300] { try await store.recordLoginFailure(email: "a@x.org", at: time, forgetBefore: 0) }
            try await store.recordLoginFailure(email: "b@x.org", at: 250, forgetBefore: 0)
            #expect(try await store.loginFailures(email: "a@x.org", since: 150) == [200, 300])
            #expect(try await store.loginFailures(email: "b@x.org", since: 0) == [250])
            let stored = try await store.database.withConnection { db in
                try await db.raw("SELECT email_sha256 FROM login_failures").all().map { try $0.decode(column: "email_sha256", as: String.self) }
            }
            #expect(stored.count == 4 && !stored.contains { $0.contains("@") })
            try await store.recordLoginFailure(email: "b@x.org", at: 400, forgetBefore: 260)
            #expect(try await store.loginFailures(email: "a@x.org", since: 0) == [300])
            #expect(try await store.loginFailures(email: "b@x.org", since: 0) == [400])
            try await store.clearLoginFailures(email: "a@x.org")
            #expect(try await store.loginFailures(email: "a@x.org", since: 0).isEmpty)
            #expect(try await store.loginFailures(email: "b@x.org", since: 0) == [400])
        }
    }

    @Test("webhook deliveries are queued with their events, throttled for progress, and handed out in order", arguments: Backend.available)
    func webhookOutbox(_ backend: Backend) async throws {
        try await withStore(backend) { store in
            var new = newGeneration(1)
            new.callbackURL = "https://example.com/hook"
            _ = try await store.createGeneration(new)
            let job = try #require(try await store.claim(worker: "w", models: []))
            // Heartbeats skip steps: 1, 3, 4, 7, 9, 12, 13, 16, 18, 20 of 20.
            for step in [1, 3, 4, 7, 9, 12, 13, 16, 18, 20] {
                _ = try await store.heartbeat(jobID: job.jobID, worker: "w", attempt: 1, stage: "denoising", step: step, totalSteps: 20)
            }
            _ = try await store.complete(jobID: job.jobID, worker: "w", attempt: 1, video: .init(key: "k", bytes: 1, sha256: "s"), receipt: "{}")
            let log = try await store.webhookDeliveries(account: nil, generationID: new.id).sorted { $0.eventSeq < $1.eventSeq }
            // The first step, then the first report in each later quarter: steps 1, 7, 12, 16 and 20.
            #expect(log.map(\.eventKind) == ["queued", "started", "progress", "progress", "progress", "progress", "progress", "succeeded"])
            #expect(Set(log.map(\.dedupeKey)).count == log.count)
            let steps = try await store.events(generationID: new.id).filter { event in log.contains { $0.eventSeq == event.seq && $0.eventKind == "progress" } }
                .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8)) as? [String: Any])?["step"] as? Int }
            #expect(steps == [1, 7, 12, 16, 20])
            // Only the oldest undelivered event of a generation is due.
            var due = try await store.claimDueWebhooks(limit: 10, hold: 0)
            #expect(due.map(\.eventKind) == ["queued"])
            try await store.recordWebhookAttempt(id: due[0].id, delivered: false, status: 500, error: "500", retryAt: store.clock())
            due = try await store.claimDueWebhooks(limit: 10, hold: 0)
            #expect(due.map(\.eventKind) == ["queued"])
            try await store.recordWebhookAttempt(id: due[0].id, delivered: true, status: 200, error: nil, retryAt: nil)
            due = try await store.claimDueWebhooks(limit: 10, hold: 30)
            #expect(due.map(\.eventKind) == ["started"])
            #expect(try await store.claimDueWebhooks(limit: 10).isEmpty)  // held by the first claim
            #expect(try await store.webhookDelivery(id: log[0].id)?.attempts == 2)
        }
    }

    @Test("the audit log verifies, and reports altered, deleted and forged entries", arguments: Backend.available)
    func auditLog(_ backend: Backend) async throws {
        let key = P256.Signing.PrivateKey()
        let sign: @Sendable (Data) throws -> Data = { try key.signature(for: $0).rawRepresentation }
        let check: @Sendable (AuditCheckpoint, Data) -> Bool = { checkpoint, message in
            guard let raw = Data(base64Encoded: checkpoint.signature), let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
            return key.publicKey.isValidSignature(signature, for: message)
        }
        try await withStore(backend) { store in
            for n in 1...6 {
                try await store.audit("test.event", actor: "acct_\(n % 2)", subject: "s\(n)", data: ["n": n], personal: n == 2 ? ["email": "p@x.org"] : nil)
            }
            #expect(try await store.signAuditCheckpoint(signer: "k", sign: sign)?.treeSize == 6)
            #expect(try await store.signAuditCheckpoint(signer: "k", sign: sign) == nil)
            try await store.audit("test.event", actor: "acct_0", data: ["n": 7])
            var report = try await store.verifyAudit(verifySignature: check)
            #expect(report.intact && report.entries == 7 && report.verifiedCheckpoints == 1, "\(report.problems)")
            #expect((try await store.auditEntries()).allSatisfy { !($0.leaf ?? "").contains("p@x.org") })
            // Erasing personal data keeps the log intact.
            #expect(try await store.erasePersonalData(accountID: "s2") == 1)
            #expect(try await store.verifyAudit(verifySignature: check).intact)
            // Altered content.
            try await store.database.withConnection { db in
                try await db.raw("UPDATE audit_entries SET leaf = REPLACE(leaf, '\"n\":3', '\"n\":33') WHERE seq = 3").run()
            }
            report = try await store.verifyAudit(verifySignature: check)
            #expect(report.problems.contains { $0.contains("entry 3 was altered") })
            // A deleted entry.
            try await store.database.withConnection { db in try await db.raw("DELETE FROM audit_entries WHERE seq = 5").run() }
            report = try await store.verifyAudit(verifySignature: check)
            #expect(report.problems.contains { $0.contains("entries 5…5 are missing") })
            #expect(report.problems.contains { $0.contains("no longer hash to the root") })
            // A checkpoint with a bad signature.
            #expect(try await store.verifyAudit(verifySignature: { _, _ in false }).problems.contains { $0.contains("does not verify") })
        }
    }

    @Test("pruned entries keep their hashes, so the signed roots still verify", arguments: Backend.available)
    func auditRetention(_ backend: Backend) async throws {
        let clock = TestClock()
        let key = P256.Signing.PrivateKey()
        try await withStore(backend, clock: clock) { store in
            for n in 1...4 { try await store.audit("old", actor: "a", data: ["n": n], personal: ["ip": "10.0.0.\(n)"]) }
            clock.advance(200 * 86_400)
            for n in 5...6 { try await store.audit("new", actor: "a", data: ["n": n]) }
            try await store.signAuditCheckpoint(signer: "k") { try key.signature(for: $0).rawRepresentation }
            #expect(try await store.pruneAudit(before: clock.read() - 180 * 86_400) == 4)
            let report = try await store.verifyAudit { checkpoint, message in
                guard let raw = Data(base64Encoded: checkpoint.signature), let s = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
                return key.publicKey.isValidSignature(s, for: message)
            }
            #expect(report.intact && report.pruned == 4 && report.verifiedCheckpoints == 1, "\(report.problems)")
            #expect(try await store.auditPersonal(seq: 1) == nil)
        }
    }
}

@Suite("Audit log hashing")
struct AuditHashingTests {
    /// Certificate Transparency's RFC 6962 test vectors (the leaves of its merkle_tree tests).
    @Test("Merkle tree hashes equal RFC 6962's reference roots")
    func rfc6962Vectors() {
        let leaves: [Data] = [Data(), Data([0x00]), Data([0x10]), Data([0x20, 0x21]), Data([0x30, 0x31]), Data([0x40, 0x41, 0x42, 0x43]),
                              Data(0x50...0x57), Data(0x60...0x6f)]
        let hashes = leaves.map(AuditLog.leafHash)
        func hex(_ d: Data) -> String { d.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(AuditLog.merkleRoot(hashes[0..<1])) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        #expect(hex(AuditLog.merkleRoot(hashes[0..<2])) == "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
        #expect(hex(AuditLog.merkleRoot(hashes[0..<3])) == "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77")
        #expect(hex(AuditLog.merkleRoot(hashes[0..<5])) == "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4")
        #expect(hex(AuditLog.merkleRoot(hashes[0..<8])) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
        #expect(hex(AuditLog.merkleRoot([][...])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
