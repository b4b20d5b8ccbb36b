import ArgumentParser
import Foundation
import Logging

/// One JSON object per line on stderr (time, level, label, message, metadata): structured logs for
/// collectors such as Loki or Elasticsearch. `--log-format json` on `serve` and `worker`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var record: [String: Any] = [
            "time": ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds]),
            "level": event.level.rawValue, "label": label, "message": "\(event.message)",
        ]
        if !event.source.isEmpty { record["source"] = event.source }
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { record[key] = "\(value)" }
        guard var line = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }
}

/// How `serve` and `worker` write logs.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json

    func bootstrap() {
        if self == .json { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
    }
}
