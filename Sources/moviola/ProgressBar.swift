import Foundation

/// A one-line progress display on stderr: bar, step n/N, elapsed time and ETA.
struct ProgressBar {
    let total: Int
    let label: String
    let start = Date()
    let interactive = isatty(STDERR_FILENO) != 0
    var enabled = true

    init(total: Int, label: String, enabled: Bool = true) {
        self.total = total
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = "\(label) [\(bar)] step \(done)/\(total)  elapsed \(Self.clock(elapsed))  ETA \(Self.clock(eta))"
        let text = interactive ? "\r\(line)\u{1B}[K" + (done == total ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
