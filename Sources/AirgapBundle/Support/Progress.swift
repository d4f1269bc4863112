import Foundation

/// Counts bytes moved by many threads and, on a terminal, draws one line on stderr:
/// `pack  [=========>          ] 512.0 MiB / 1.0 GiB  210.4 MiB/s  ETA 3s`. Off a terminal it
/// draws nothing, so logs and pipes stay clean.
public final class TransferProgress: @unchecked Sendable {
    private let label: String
    public let isEnabled: Bool
    private let lock = NSLock()
    private var total: Int64
    private var done: Int64 = 0
    private let started = Date()
    private var lastDrawn = Date.distantPast

    public init(label: String, total: Int64 = 0, enabled: Bool) {
        self.label = label
        self.total = total
        self.isEnabled = enabled
    }

    /// Whether stderr is a terminal: the default for `enabled`.
    public static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    public func setTotal(_ bytes: Int64) { lock.lock(); total = bytes; lock.unlock() }

    public func advance(_ bytes: Int64) {
        guard isEnabled else { return }
        lock.lock()
        done += bytes
        let now = Date()
        let due = now.timeIntervalSince(lastDrawn) >= 0.1
        if due { lastDrawn = now }
        let (done, total) = (self.done, self.total)
        lock.unlock()
        if due { draw(done: done, total: total, elapsed: now.timeIntervalSince(started)) }
    }

    /// Clears the line so the summary that follows starts clean.
    public func finish() {
        guard isEnabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw(done: Int64, total: Int64, elapsed: Double) {
        let width = 24
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 && total > done ? "ETA \(Int((Double(total - done) / rate).rounded()))s" : ""
        let line = "\r\u{1B}[K\(label) [\(bar)] \(ByteCount.format(done)) / \(ByteCount.format(total))  \(ByteCount.format(Int64(rate)))/s  \(eta)"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

public enum ByteCount {
    /// Binary units with one decimal: `1.5 GiB`, `312.0 KiB`, `17 B`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        guard abs(value) >= 1024 else { return "\(bytes) B" }
        var unit = -1
        while abs(value) >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return String(format: "%.1f %@", value, units[unit])
    }
}
