import Foundation
import Synchronization

/// Wakes everyone waiting when something happens (a job queued, an event logged); waits also end
/// after a timeout, so a missed wake-up costs at most one polling interval.
public final class Pulse: Sendable {
    private let waiters = Mutex<[UInt64: CheckedContinuation<Void, Never>]>([:])
    private let counter = Atomic<UInt64>(0)

    public init() {}

    public func fire() {
        let all = waiters.withLock { w -> [CheckedContinuation<Void, Never>] in
            defer { w.removeAll() }
            return Array(w.values)
        }
        for continuation in all { continuation.resume() }
    }

    public func wait(timeout: Duration) async {
        let id = counter.add(1, ordering: .relaxed).newValue
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.withLock { $0[id] = continuation }
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    self?.resume(id)
                }
            }
        } onCancel: {
            resume(id)
        }
    }

    private func resume(_ id: UInt64) {
        waiters.withLock { $0.removeValue(forKey: id) }?.resume()
    }
}

/// Where finished videos and uploaded images live.
public protocol ObjectStorage: Sendable {
    /// Stores the file at `source` (moved or copied) under `key`.
    func put(key: String, file source: URL, contentType: String) async throws
    func put(key: String, data: Data, contentType: String) async throws
    /// A local path to read `key` from (downloaded first for remote storage).
    func localPath(key: String) async throws -> String
    func size(key: String) async throws -> Int?
    func delete(key: String) async throws
    var displayName: String { get }
}

/// Files under a folder (the default): keys are relative paths.
public struct LocalDiskStorage: ObjectStorage {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    public var displayName: String { "local disk \(root)" }

    func path(_ key: String) throws -> String {
        guard !key.isEmpty, !key.contains(".."), !key.hasPrefix("/") else { throw ServiceError(.badRequest, "invalid storage key \(key)") }
        return (root as NSString).appendingPathComponent(key)
    }

    public func put(key: String, file source: URL, contentType: String) async throws {
        let destination = try path(key)
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.copyItem(atPath: source.path, toPath: partial)
        _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: destination), withItemAt: URL(fileURLWithPath: partial))
    }

    public func put(key: String, data: Data, contentType: String) async throws {
        let destination = try path(key)
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: destination), options: .atomic)
    }

    public func localPath(key: String) async throws -> String {
        let p = try path(key)
        guard FileManager.default.fileExists(atPath: p) else { throw ServiceError(.notFound, "the stored file \(key) is missing") }
        return p
    }

    public func size(key: String) async throws -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: try path(key)))?[.size] as? Int
    }

    public func delete(key: String) async throws {
        try? FileManager.default.removeItem(atPath: try path(key))
    }
}

/// Counters and histograms for `/metrics`, in Prometheus' text format.
public final class ServiceMetrics: Sendable {
    struct Histogram {
        var buckets: [Double]
        var counts: [Int]
        var sum = 0.0
        var count = 0
        init(buckets: [Double]) {
            self.buckets = buckets
            counts = Array(repeating: 0, count: buckets.count)
        }
        mutating func observe(_ value: Double) {
            for (i, bound) in buckets.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    struct State {
        var counters: [String: Int] = [:]
        var jobSeconds = Histogram(buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800])
        var stepSeconds = Histogram(buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30])
        var requestSeconds = Histogram(buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5])
    }

    private let state = Mutex(State())

    public init() {}

    public func increment(_ name: String, by n: Int = 1) { state.withLock { $0.counters[name, default: 0] += n } }
    public func observeJob(seconds: Double) { state.withLock { $0.jobSeconds.observe(seconds) } }
    public func observeStep(seconds: Double) { state.withLock { $0.stepSeconds.observe(seconds) } }
    public func observeRequest(seconds: Double) { state.withLock { $0.requestSeconds.observe(seconds) } }

    /// The exposition, with the queue's gauges read just now.
    func render(gauges: [(name: String, help: String, labels: String, value: Double)]) -> String {
        let s = state.withLock { $0 }
        var out = ""
        var described = Set<String>()
        for gauge in gauges {
            if described.insert(gauge.name).inserted {
                out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            }
            out += "\(gauge.name)\(gauge.labels) \(gauge.value)\n"
        }
        for (name, value) in s.counters.sorted(by: { $0.key < $1.key }) {
            out += "# TYPE \(name) counter\n\(name) \(value)\n"
        }
        func histogram(_ name: String, _ help: String, _ h: Histogram) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (bound, count) in zip(h.buckets, h.counts) { out += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
            out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
        }
        histogram("moviola_job_seconds", "Time from claim to published result.", s.jobSeconds)
        histogram("moviola_step_seconds", "Time per denoising step reported by workers.", s.stepSeconds)
        histogram("moviola_http_request_seconds", "Time to answer API requests (streams excluded).", s.requestSeconds)
        return out
    }
}

/// JSON helpers for handlers.
enum JSON {
    static func data(_ object: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    static func iso8601(_ seconds: Double?) -> Any {
        guard let seconds else { return NSNull() }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
