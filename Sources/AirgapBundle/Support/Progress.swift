import CSystem
import Dispatch
import Foundation

/// How a run shows its progress on stderr (`--progress`).
public enum ProgressStyle: String, Sendable, CaseIterable {
    /// One line redrawn in place: phase, percent, blobs n/N, bytes, rate, ETA, the artifact moving.
    case tty
    /// Whole lines for logs and CI: one every 10 s or every 10 %, whichever comes first, and a
    /// summary last.
    case plain
    case none
}

/// Counts what a run moves, phase by phase (read, verify, check, upload, write …), from many
/// threads, and shows it on stderr in the chosen style.
///
/// On a terminal: `push upload  29%  3/10 blobs  300.0 MiB/1.0 GiB  42.1 MiB/s  ETA 17s  library/flink`.
/// The rate is smoothed (a fast first second does not promise a fast minute) and the ETA appears
/// only after `etaAfter` seconds of the phase, so there is no `ETA 28653s` from the first
/// sample. Off a terminal: whole lines, one at least every `plainInterval` seconds even when
/// nothing moves (a stalled upload still says where it stalled), one at each tenth of a phase
/// once the run is older than `quietStart`, and when any line was printed, a summary last. A run
/// shorter than that prints nothing but its result, so quick commands keep their logs clean.
public final class TransferProgress: @unchecked Sendable {
    public struct Timing: Sendable {
        public var plainInterval: Double = 10
        /// How often the timer looks: a line falls due when the next look would be past
        /// `plainInterval`, so lines are never further apart than that.
        public var tickInterval: Double = 0.5
        /// A tenth of a phase is reported only this far into the run and this long after the
        /// last line.
        public var quietStart: Double = 3
        public var etaAfter: Double = 3
        public var redrawInterval: Double = 0.1
        /// How often the rate is sampled for smoothing.
        public var sampleInterval: Double = 0.5
        /// No byte for this long: the line says `stalled` instead of a rate and an ETA.
        public var stallAfter: Double = 5
        public init() {}
    }

    public let label: String
    public let style: ProgressStyle
    public var isEnabled: Bool { style != .none }
    private let timing: Timing
    private let write: @Sendable (String) -> Void
    private let clock: @Sendable () -> Double
    /// The terminal's width, asked once: a resized window redraws at the old width until the
    /// next run, which costs a wrapped line, never a wrong number.
    private let columns: Int

    private let lock = NSLock()
    private var phase = ""
    private var subject = ""
    private var bytesTotal: Int64 = 0
    private var bytesDone: Int64 = 0
    private var blobsTotal = 0
    private var blobsDone = 0
    private var unit = "blobs"
    private var runStarted: Double
    private var phaseStarted: Double
    private var lastSample: (time: Double, bytes: Int64)
    private var rate: Double?
    private var lastMoved: Double
    private var lastDrawn = -Double.infinity
    private var lastLine: Double
    private var lastTenth = 0
    private var linesPrinted = 0
    private var drawnOnTerminal = false
    private var finished: [(phase: String, blobs: Int, unit: String, bytes: Int64, seconds: Double)] = []
    private var timer: DispatchSourceTimer?
    private var stopped = false

    /// `write` receives what would go to stderr: whole lines (with `\n`) in plain style, `\r`
    /// redraws in tty style. `clock` is seconds from any fixed point; tests pass their own.
    public init(label: String, style: ProgressStyle, timing: Timing = Timing(),
                write: @escaping @Sendable (String) -> Void = TransferProgress.writeToStderr,
                clock: @escaping @Sendable () -> Double = TransferProgress.monotonicSeconds,
                columns: Int = TransferProgress.stderrColumns, ticking: Bool = true) {
        self.columns = columns
        self.label = label
        self.style = style
        self.timing = timing
        self.write = write
        self.clock = clock
        let now = clock()
        runStarted = now
        phaseStarted = now
        lastLine = now
        lastSample = (now, 0)
        lastMoved = now
        if ticking && style != .none { startTimer() }
    }

    /// A reporter that shows nothing.
    public static var silent: TransferProgress { TransferProgress(label: "", style: .none) }

    /// Whether stderr is a terminal: what `--progress auto` decides on.
    public static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// The width of the terminal on stderr: what the window says, else `COLUMNS`, else 80.
    public static var stderrColumns: Int {
        let asked = Int(airgap_terminal_columns(STDERR_FILENO))
        if asked > 0 { return asked }
        return Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "").flatMap { $0 > 0 ? $0 : nil } ?? 80
    }

    public static let writeToStderr: @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    public static let monotonicSeconds: @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    deinit { timer?.cancel() }

    /// Starts a phase; the one before it is finished (and counted in the summary).
    /// `blobs` counts what the phase moves one by one, called `unit` in the line.
    public func begin(_ phase: String, bytes: Int64, blobs: Int = 0, unit: String = "blobs", subject: String = "") {
        guard isEnabled else { return }
        lock.lock()
        closePhase()
        let now = clock()
        self.phase = phase
        self.subject = subject
        bytesTotal = bytes
        bytesDone = 0
        blobsTotal = blobs
        blobsDone = 0
        self.unit = unit
        phaseStarted = now
        lastSample = (now, 0)
        lastMoved = now
        rate = nil
        lastTenth = 0
        lock.unlock()
    }

    /// The artifact (repository, file) whose bytes are moving now.
    public func subject(_ name: String) {
        guard isEnabled else { return }
        lock.lock(); subject = name; lock.unlock()
    }

    public func advance(_ bytes: Int64) {
        guard isEnabled else { return }
        lock.lock()
        bytesDone += bytes
        let now = clock()
        if bytes > 0 { lastMoved = now }
        let output = render(now: now, event: true)
        lock.unlock()
        if let output { write(output) }
    }

    /// One blob (or manifest, or file) of the phase is done.
    public func blobDone() {
        guard isEnabled else { return }
        lock.lock()
        blobsDone += 1
        let output = render(now: clock(), event: true)
        lock.unlock()
        if let output { write(output) }
    }

    /// What the timer does twice a second: redraw the rate, and off a terminal keep the promise
    /// of a line every `plainInterval` seconds while nothing advances.
    public func tick() {
        guard isEnabled else { return }
        lock.lock()
        let output = stopped ? nil : render(now: clock(), event: false)
        lock.unlock()
        if let output { write(output) }
    }

    /// The run succeeded: off a terminal, when any progress line was printed, a summary line
    /// closes them; on a terminal the line is cleared for the result that follows.
    public func complete() {
        guard isEnabled else { return }
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        closePhase()
        let now = clock()
        var output = ""
        if style == .tty, drawnOnTerminal { output = "\r\u{1B}[K" }
        if style == .plain, linesPrinted > 0 { output = "airgap: \(label): \(summaryText(elapsed: now - runStarted))\n" }
        stopLocked()
        lock.unlock()
        if !output.isEmpty { write(output) }
    }

    /// The run ends (also on failure): the timer stops and a terminal line is cleared, so an
    /// error message starts at the left margin. No summary.
    public func stop() {
        guard isEnabled else { return }
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        let clear = style == .tty && drawnOnTerminal
        stopLocked()
        lock.unlock()
        if clear { write("\r\u{1B}[K") }
    }

    // MARK: - Under the lock

    private func stopLocked() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func closePhase() {
        guard !phase.isEmpty else { return }
        finished.append((phase, blobsDone, unit, bytesDone, clock() - phaseStarted))
        phase = ""
    }

    private func sampleRate(now: Double) {
        let elapsed = now - lastSample.time
        guard elapsed >= timing.sampleInterval else { return }
        // A resend takes bytes back; the rate is what went out, never below zero.
        let instant = max(0, Double(bytesDone - lastSample.bytes) / elapsed)
        // An exponential moving average over half-second samples: about the last few seconds.
        rate = rate.map { 0.3 * instant + 0.7 * $0 } ?? instant
        lastSample = (now, bytesDone)
    }

    private func render(now: Double, event: Bool) -> String? {
        guard !stopped, !phase.isEmpty else {
            // Between phases (or before the first) the plain heartbeat still names the run.
            if style == .plain, !stopped, now - lastLine + timing.tickInterval >= timing.plainInterval {
                lastLine = now
                linesPrinted += 1
                return "airgap: \(label): working (\(Self.duration(now - runStarted)) so far)\n"
            }
            return nil
        }
        sampleRate(now: now)
        switch style {
        case .none:
            return nil
        case .tty:
            guard now - lastDrawn >= (event ? timing.redrawInterval : 0.9 * timing.tickInterval) else { return nil }
            lastDrawn = now
            drawnOnTerminal = true
            return "\r\u{1B}[K" + terminalLine(now: now)
        case .plain:
            let tenth = bytesTotal > 0 ? Int(min(1, Double(bytesDone) / Double(bytesTotal)) * 10)
                : blobsTotal > 0 ? Int(Double(blobsDone) / Double(blobsTotal) * 10) : 0
            let sinceLine = now - lastLine
            let stepDue = tenth > lastTenth && now - runStarted >= timing.quietStart && sinceLine >= timing.quietStart / 3
            guard sinceLine + timing.tickInterval >= timing.plainInterval || stepDue else { return nil }
            lastLine = now
            lastTenth = tenth
            linesPrinted += 1
            return "airgap: \(heading): " + plainLine(now: now) + "\n"
        }
    }

    /// `push upload`; `verify`, not `verify verify`.
    private var heading: String { phase == label ? label : "\(label) \(phase)" }

    private var counts: (blobs: String, bytes: String, percent: String) {
        let blobs = blobsTotal > 0 ? "\(blobsDone)/\(blobsTotal) \(unit)" : ""
        let bytes = bytesTotal > 0 ? "\(ByteCount.format(bytesDone)) / \(ByteCount.format(bytesTotal))" : ByteCount.format(bytesDone)
        let percent = bytesTotal > 0 ? "\(Int(min(1, Double(bytesDone) / Double(bytesTotal)) * 100))%" : ""
        return (blobs, bytes, percent)
    }

    private func rateAndETA(now: Double) -> (rate: String, eta: String) {
        // Once every byte of the phase is out, a decaying rate tells nothing.
        guard let rate, rate > 0, bytesTotal == 0 || bytesDone < bytesTotal else { return ("", "") }
        // A stalled transfer says so, rather than promising an ETA of days.
        if now - lastMoved >= timing.stallAfter, bytesTotal > bytesDone { return ("stalled for \(Self.duration(now - lastMoved))", "") }
        let remaining = Double(bytesTotal - bytesDone) / rate
        let eta = now - phaseStarted >= timing.etaAfter && remaining >= 1 ? "ETA \(Self.duration(remaining))" : ""
        return ("\(ByteCount.format(Int64(rate)))/s", eta)
    }

    private func terminalLine(now: Double) -> String {
        let (blobs, _, percent) = counts
        let bytes = bytesTotal > 0 ? "\(ByteCount.format(bytesDone))/\(ByteCount.format(bytesTotal))" : bytesDone > 0 ? ByteCount.format(bytesDone) : ""
        let (rateText, eta) = rateAndETA(now: now)
        let fields = [heading, percent, blobs, bytes, rateText, eta].filter { !$0.isEmpty }.joined(separator: "  ")
        // One line, never wrapped: a wrapped line cannot be redrawn with \r. The artifact's name
        // is cut at its end, where a repository's name is least telling.
        let columns = self.columns
        let room = columns - 1 - fields.count - 2
        guard !subject.isEmpty, room >= 8 else { return String(fields.prefix(columns - 1)) }
        let name = TerminalText.escape(subject)
        return fields + "  " + (name.count <= room ? name : name.prefix(room - 1) + "…")
    }

    private func plainLine(now: Double) -> String {
        let (blobs, bytes, percent) = counts
        let (rateText, eta) = rateAndETA(now: now)
        let moved = bytesTotal > 0 ? "\(bytes) (\(percent))" : bytesDone > 0 ? bytes : ""
        // A phase that counts nothing (resolving, writing the chart) still says how long it has run.
        let counted = [blobs, moved].filter { !$0.isEmpty }
        let fields = (counted.isEmpty ? ["\(Self.duration(now - phaseStarted)) so far"] : counted) + [rateText, eta, TerminalText.escape(subject)]
        return fields.filter { !$0.isEmpty }.joined(separator: ", ")
    }

    private func summaryText(elapsed: Double) -> String {
        let phases = finished.filter { $0.bytes > 0 || $0.blobs > 0 }.map { phase -> String in
            var parts: [String] = []
            if phase.blobs > 0 { parts.append(phase.unit == phase.phase ? "\(phase.blobs)" : "\(phase.blobs) \(phase.unit)") }
            if phase.bytes > 0 {
                parts.append(ByteCount.format(phase.bytes))
                if phase.seconds >= 0.5 { parts.append("\(ByteCount.format(Int64(Double(phase.bytes) / phase.seconds)))/s") }
            }
            return "\(phase.phase) " + parts.joined(separator: " ")
        }
        return "done in \(Self.duration(elapsed))" + (phases.isEmpty ? "" : ": " + phases.joined(separator: "; "))
    }

    /// `42s`, `3m05s`, `1h02m`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let whole = Int(seconds.rounded())
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    private func startTimer() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "airgap.progress"))
        timer.schedule(deadline: .now() + timing.tickInterval, repeating: timing.tickInterval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        self.timer = timer
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
