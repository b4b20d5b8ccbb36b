import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import MoviolaStore

/// Checks webhook and callback URLs before they are stored.
enum WebhookURL {
    static func check(_ text: String, allowPrivate: Bool, field: String) throws {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw ServiceError(.badRequest, "\(field) must be an http:// or https:// URL", field: field, klingCode: 1201)
        }
        if !allowPrivate, let address = privateAddress(host) {
            throw ServiceError(.badRequest, "\(field) points at \(address), a loopback or private address; the operator has not allowed those (serve --webhook-allow-private)",
                               field: field, klingCode: 1201)
        }
    }

    /// The host's first loopback, private or link-local address, if it resolves to one.
    static func privateAddress(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let trimmed = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard getaddrinfo(trimmed, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if info.pointee.ai_family == AF_INET, let address = info.pointee.ai_addr {
                let ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                let a = ip >> 24, b = (ip >> 16) & 0xff
                if a == 127 || a == 10 || a == 0 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168) || (a == 169 && b == 254)
                    || (a == 100 && (64...127).contains(b)) {
                    return "\(a).\(b).\((ip >> 8) & 0xff).\(ip & 0xff)"
                }
            } else if info.pointee.ai_family == AF_INET6, let address = info.pointee.ai_addr {
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
                let loopback = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
                if loopback || bytes[0] & 0xfe == 0xfc || (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) { return trimmed }
            }
            cursor = info.pointee.ai_next
        }
        return nil
    }
}

/// Sends queued webhook deliveries: signed (HMAC-SHA256 over `timestamp.body`), in event order per
/// generation and target, retried with doubling delays for a day, each attempt recorded.
struct WebhookDispatcher: Sendable {
    let store: Store
    let retryBaseSeconds: Double
    let logger: Logger
    /// The exact body for a delivery (built once, at its first attempt).
    let payload: @Sendable (WebhookDelivery) async throws -> String
    /// The signing secret for a delivery's account.
    let secret: @Sendable (String) async throws -> String
    let pulse: Pulse

    static let giveUpAfter: Double = 86_400

    func run() async throws {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        let session = URLSession(configuration: configuration)
        while !Task.isCancelled {
            var due: [WebhookDelivery] = []
            do { due = try await store.claimDueWebhooks(limit: 20, hold: 30) } catch { logger.error("webhook queue: \(error)") }
            for delivery in due {
                await send(delivery, session: session)
            }
            if due.isEmpty { await pulse.wait(timeout: .milliseconds(500)) }
        }
    }

    func send(_ delivery: WebhookDelivery, session: URLSession) async {
        do {
            var body = delivery.payload
            if body == nil {
                let built = try await payload(delivery)
                try await store.setWebhookPayload(id: delivery.id, payload: built)
                body = try await store.webhookDelivery(id: delivery.id)?.payload ?? built
            }
            let secret = try await secret(delivery.account)
            let timestamp = Int(Date().timeIntervalSince1970)
            var request = URLRequest(url: URL(string: delivery.url)!)
            request.httpMethod = "POST"
            request.httpBody = Data(body!.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Moviola-Webhooks/1", forHTTPHeaderField: "User-Agent")
            request.setValue(delivery.dedupeKey, forHTTPHeaderField: "Moviola-Webhook-Id")
            request.setValue(delivery.eventKind, forHTTPHeaderField: "Moviola-Event")
            request.setValue(Self.signature(secret: secret, timestamp: timestamp, body: body!), forHTTPHeaderField: "Moviola-Signature")
            let status: Int
            do {
                let (_, response) = try await session.data(for: request)
                status = (response as? HTTPURLResponse)?.statusCode ?? 0
            } catch {
                try await failed(delivery, status: nil, error: "\(error.localizedDescription)")
                return
            }
            if (200..<300).contains(status) {
                try await store.recordWebhookAttempt(id: delivery.id, delivered: true, status: status, error: nil, retryAt: nil)
            } else {
                try await failed(delivery, status: status, error: "the receiver answered HTTP \(status)")
            }
        } catch {
            logger.error("webhook \(delivery.id): \(error)")
        }
    }

    func failed(_ delivery: WebhookDelivery, status: Int?, error: String) async throws {
        let now = Date().timeIntervalSince1970
        let delay = min(3600, retryBaseSeconds * pow(2, Double(delivery.attempts)))
        let retryAt: Double? = now + delay - delivery.createdAt > Self.giveUpAfter ? nil : now + delay
        try await store.recordWebhookAttempt(id: delivery.id, delivered: false, status: status, error: error, retryAt: retryAt)
        logger.warning("webhook \(delivery.dedupeKey) to \(delivery.url) failed (\(error)); \(retryAt.map { "retry in \(Int($0 - now)) s" } ?? "giving up after a day")")
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    static func signature(secret: String, timestamp: Int, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

extension Routes {
    /// The body of a webhook delivery: the event and the generation as the API that created it shows it
    /// (a Kling task for Kling callbacks, OpenAI's event shape for OpenAI clients, Moviola's otherwise).
    func webhookBody(_ delivery: WebhookDelivery) async throws -> String {
        guard let generation = try await store.generation(id: delivery.generationID) else {
            throw ServiceError(.notFound, "generation \(delivery.generationID) is gone")
        }
        let event = try await store.events(generationID: generation.id, after: delivery.eventSeq - 1).first { $0.seq == delivery.eventSeq }
        let eventData = event.map { JSON.object($0.data) } ?? [:]
        let created = Int(event?.createdAt ?? delivery.createdAt)
        let document: [String: Any]
        switch (generation.apiFlavor, delivery.target) {
        case ("kling", "callback"):
            var task = try klingTask(generation)
            // The state as of this event, not as of sending.
            let states = ["queued": "submitted", "started": "processing", "progress": "processing", "succeeded": "succeed",
                          "failed": "failed", "cancelled": "failed"]
            task["task_status"] = states[delivery.eventKind] ?? task["task_status"]
            if delivery.eventKind != "succeeded" { task["task_result"] = ["videos": [] as [Any]] }
            task["event_id"] = delivery.dedupeKey
            task["event"] = delivery.eventKind
            document = task
        case ("openai", _):
            let types = ["queued": "video.queued", "started": "video.in_progress", "progress": "video.progress",
                         "succeeded": "video.completed", "failed": "video.failed", "cancelled": "video.failed"]
            document = ["id": delivery.dedupeKey, "object": "event", "type": types[delivery.eventKind] ?? "video.\(delivery.eventKind)",
                        "created_at": created, "sequence": delivery.eventSeq,
                        "data": ["id": generation.id, "event": eventData, "video": try openAIVideo(generation)] as [String: Any]]
        default:
            var current = try await representation(generation, withQueuePosition: false)
            current["state_at_event"] = eventData["state"] ?? NSNull()
            document = ["id": delivery.dedupeKey, "object": "event", "type": "generation.\(delivery.eventKind)", "created_at": created,
                        "sequence": delivery.eventSeq, "generation_id": generation.id, "event": eventData, "data": current]
        }
        return String(decoding: try JSON.data(document), as: UTF8.self)
    }
}
