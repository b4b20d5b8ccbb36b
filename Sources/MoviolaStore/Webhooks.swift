import Foundation
import SQLKit

/// One webhook delivery: an event of a generation, for one target URL, with its attempts.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: String
    /// The same for every delivery of one event to one target, retries and redeliveries included.
    public var dedupeKey: String
    public var generationID: String
    public var account: String
    public var eventSeq: Int
    /// `queued`, `started`, `progress`, `succeeded`, `failed` or `cancelled`.
    public var eventKind: String
    /// `callback` (the generation's callback_url) or `account` (the account's webhook).
    public var target: String
    public var url: String
    /// The exact body sent (fixed at the first attempt, so retries repeat it byte for byte).
    public var payload: String?
    /// `pending`, `delivered` or `failed` (gave up).
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Double
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Double
    public var deliveredAt: Double?

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        dedupeKey = try row.decode(column: "dedupe_key", as: String.self)
        generationID = try row.decode(column: "generation_id", as: String.self)
        account = try row.decode(column: "account", as: String.self)
        eventSeq = try row.decode(column: "event_seq", as: Int.self)
        eventKind = try row.decode(column: "event_kind", as: String.self)
        target = try row.decode(column: "target", as: String.self)
        url = try row.decode(column: "url", as: String.self)
        payload = try row.decode(column: "payload", as: String?.self)
        state = try row.decode(column: "state", as: String.self)
        attempts = try row.decode(column: "attempts", as: Int.self)
        nextAttemptAt = try row.decode(column: "next_attempt_at", as: Double.self)
        lastStatus = try row.decode(column: "last_status", as: Int?.self)
        lastError = try row.decode(column: "last_error", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        deliveredAt = try row.decode(column: "delivered_at", as: Double?.self)
    }
}

extension Store {
    /// Event kinds that are delivered to webhooks.
    public static let webhookEvents: Set<String> = ["queued", "started", "progress", "succeeded", "failed", "cancelled"]

    /// Queues deliveries for an event in the transaction that logs it (a transactional outbox: an event
    /// is logged if and only if its deliveries are queued). Progress is throttled to quarters of the steps.
    func enqueueWebhooks(_ db: any SQLDatabase, generationID: String, seq: Int, kind: String, data: [String: any Sendable], now: Double) async throws {
        guard Self.webhookEvents.contains(kind) else { return }
        if kind == "progress" {
            // The first denoising step reported, then each quarter of the steps (heartbeats may skip steps).
            guard data["stage"] as? String == "denoising", let step = data["step"] as? Int, let total = data["total_steps"] as? Int,
                  total > 0, step > 0 else { return }
            let last = try await db.raw("""
                SELECT e.data FROM webhook_deliveries d JOIN generation_events e ON e.generation_id = d.generation_id AND e.seq = d.event_seq
                WHERE d.generation_id = \(bind: generationID) AND d.event_kind = 'progress' ORDER BY d.event_seq DESC LIMIT 1
                """).first()?.decode(column: "data", as: String.self)
            if let last, let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
               let previous = object["step"] as? Int, previous * 4 / total >= step * 4 / total {
                return
            }
        }
        guard let row = try await db.raw("""
            SELECT g.account, g.callback_url, a.webhook_url FROM generations g LEFT JOIN accounts a ON a.id = g.account
            WHERE g.id = \(bind: generationID)
            """).first() else { return }
        let account = try row.decode(column: "account", as: String.self)
        var targets: [(String, String)] = []
        if let url = try row.decode(column: "callback_url", as: String?.self) { targets.append(("callback", url)) }
        if let url = try row.decode(column: "webhook_url", as: String?.self) { targets.append(("account", url)) }
        for (target, url) in targets {
            try await db.raw("""
                INSERT INTO webhook_deliveries (id, dedupe_key, generation_id, account, event_seq, event_kind, target, url, state,
                    next_attempt_at, created_at)
                VALUES (\(bind: "whd_" + Self.randomToken(18).lowercased()), \(bind: "evt_\(generationID)_\(seq)"), \(bind: generationID),
                    \(bind: account), \(bind: seq), \(bind: kind), \(bind: target), \(bind: url), 'pending', \(bind: now), \(bind: now))
                """).run()
        }
    }

    /// Claims deliveries that are due, holding each for `hold` seconds. Only the oldest undelivered event
    /// of each generation and target is due, so a receiver sees a generation's events in order.
    public func claimDueWebhooks(limit: Int = 20, hold: Double = 60) async throws -> [WebhookDelivery] {
        let now = clock()
        return try await database.transaction { db -> [WebhookDelivery] in
            let rows = try await db.raw("""
                SELECT d.* FROM webhook_deliveries d
                WHERE d.state = 'pending' AND d.next_attempt_at <= \(bind: now)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.generation_id = d.generation_id AND e.target = d.target
                                  AND e.state = 'pending' AND e.event_seq < d.event_seq)
                ORDER BY d.next_attempt_at, d.event_seq LIMIT \(literal: max(1, limit))\(unsafeRaw: database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : "")
                """).all().map(WebhookDelivery.init(row:))
            var claimed: [WebhookDelivery] = []
            for delivery in rows {
                if try await db.raw("""
                    UPDATE webhook_deliveries SET next_attempt_at = \(bind: now + hold)
                    WHERE id = \(bind: delivery.id) AND state = 'pending' AND next_attempt_at <= \(bind: now) RETURNING id
                    """).first() != nil {
                    claimed.append(delivery)
                }
            }
            return claimed
        }
    }

    /// Fixes the body of a delivery at its first attempt.
    public func setWebhookPayload(id: String, payload: String) async throws {
        try await database.withConnection { db in
            try await db.raw("UPDATE webhook_deliveries SET payload = \(bind: payload) WHERE id = \(bind: id) AND payload IS NULL").run()
        }
    }

    /// Records an attempt: delivered, retry at `retryAt`, or (retryAt nil) given up.
    public func recordWebhookAttempt(id: String, delivered: Bool, status: Int?, error: String?, retryAt: Double?) async throws {
        let now = clock()
        let state = delivered ? "delivered" : (retryAt == nil ? "failed" : "pending")
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE webhook_deliveries SET attempts = attempts + 1, state = \(bind: state), last_status = \(bind: status),
                    last_error = \(bind: error), next_attempt_at = \(bind: retryAt ?? now),
                    delivered_at = \(bind: delivered ? now : nil)
                WHERE id = \(bind: id)
                """).run()
        }
    }

    /// The delivery log, newest first.
    public func webhookDeliveries(account: String?, generationID: String? = nil, limit: Int = 100) async throws -> [WebhookDelivery] {
        var query = SQLQueryString("SELECT * FROM webhook_deliveries WHERE 1 = 1")
        if let account { query = query + " AND account = \(bind: account)" }
        if let generationID { query = query + " AND generation_id = \(bind: generationID)" }
        query = query + " ORDER BY created_at DESC, event_seq DESC LIMIT \(literal: max(1, min(limit, 1000)))"
        let finalQuery = query
        return try await database.withConnection { db in try await db.raw(finalQuery).all().map(WebhookDelivery.init(row:)) }
    }

    public func webhookDelivery(id: String) async throws -> WebhookDelivery? {
        try await database.withConnection { db in
            try await db.raw("SELECT * FROM webhook_deliveries WHERE id = \(bind: id)").first().map(WebhookDelivery.init(row:))
        }
    }

    /// Sends a delivery again (same body and dedupe key), whatever its state.
    public func redeliverWebhook(id: String) async throws -> Bool {
        let now = clock()
        return try await database.withConnection { db in
            try await db.raw("""
                UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = \(bind: now) WHERE id = \(bind: id) RETURNING id
                """).first() != nil
        }
    }
}
