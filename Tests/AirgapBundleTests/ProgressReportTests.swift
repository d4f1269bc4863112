import AirgapBundle
import Foundation
import XCTest

/// What an operator sees of a long transfer, driven by a clock the test moves: lines off a
/// terminal at least every 10 s, at tenths, a summary last; on a terminal the artifact, n/N,
/// a smoothed rate and no ETA before there is data for one.
final class ProgressReportTests: XCTestCase {
    final class Screen: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        var now = 0.0
        func write(_ chunk: String) { lock.lock(); text += chunk; lock.unlock() }
        var output: String { lock.lock(); defer { lock.unlock() }; return text }
        var lines: [String] { output.split(separator: "\n").map(String.init) }
        /// What a terminal shows last: the text after the final carriage return.
        var lastRedraw: String { output.components(separatedBy: "\r\u{1B}[K").last ?? "" }
    }

    private func reporter(_ style: ProgressStyle, _ screen: Screen, label: String = "push", columns: Int = 120) -> TransferProgress {
        TransferProgress(label: label, style: style, write: screen.write, clock: { screen.now }, columns: columns, ticking: false)
    }

    func testPlainPrintsALineAtLeastEveryTenSecondsWhileAStalledUploadMovesNothing() {
        let screen = Screen()
        let progress = reporter(.plain, screen)
        progress.begin("upload", bytes: 1 << 30, blobs: 10)
        progress.subject("library/flink")
        var stamps: [Double] = []
        for second in 1...95 {
            screen.now = Double(second)
            let before = screen.lines.count
            if second < 5 { progress.advance(1 << 20) }
            progress.tick()
            if screen.lines.count > before { stamps.append(screen.now) }
        }
        XCTAssertEqual(stamps, [10, 20, 30, 40, 50, 60, 70, 80, 90], screen.output)
        let line = screen.lines[0]
        XCTAssertTrue(line.hasPrefix("airgap: push upload: 0/10 blobs, 4.0 MiB / 1.0 GiB (0%)"), line)
        XCTAssertTrue(line.hasSuffix(", stalled for 6.0s, library/flink"), "no ETA of days for a stalled upload: \(line)")
        XCTAssertFalse(screen.output.contains("\u{1B}"), "no terminal codes off a terminal")
    }

    func testPlainPrintsATenthAsSoonAsItIsReachedAndASummaryLast() {
        let screen = Screen()
        let progress = reporter(.plain, screen)
        progress.begin("verify", bytes: 1000 << 20)
        // 100 MiB a second: a tenth every second, each printed (the run is past its quiet start).
        var printedAt: [Double] = []
        for second in 1...10 {
            screen.now = Double(second)
            let before = screen.lines.count
            progress.advance(100 << 20)
            if screen.lines.count > before { printedAt.append(screen.now) }
        }
        XCTAssertEqual(printedAt, [3, 4, 5, 6, 7, 8, 9, 10], "a tenth a second once the run is 3 s old: \(screen.output)")
        XCTAssertTrue(screen.lines.last!.contains("(100%)"), screen.output)
        progress.begin("upload", bytes: 500 << 20, blobs: 2)
        screen.now = 15
        progress.advance(500 << 20)
        progress.blobDone(); progress.blobDone()
        progress.complete()
        let last = screen.lines.last!
        XCTAssertEqual(last, "airgap: push: done in 15s: verify 1000.0 MiB 100.0 MiB/s; upload 2 blobs 500.0 MiB 100.0 MiB/s", screen.output)
        progress.tick()
        XCTAssertEqual(screen.lines.last, last, "nothing after the summary")
    }

    func testAQuickRunPrintsNoProgressOffATerminal() {
        let screen = Screen()
        let progress = reporter(.plain, screen)
        progress.begin("verify", bytes: 10 << 20)
        for step in 1...10 { screen.now = Double(step) * 0.1; progress.advance(1 << 20) }
        progress.complete()
        XCTAssertEqual(screen.output, "", "a run under 3 s prints only its result")
    }

    func testTerminalLineShowsArtifactCountsSmoothedRateAndNoEarlyETA() {
        let screen = Screen()
        let progress = reporter(.tty, screen)
        progress.begin("upload", bytes: 1 << 30, blobs: 4)
        progress.subject("flink-project/library-flink")
        // A burst in the first half second, then 10 MiB/s.
        screen.now = 0.5
        progress.advance(200 << 20)
        XCTAssertFalse(screen.lastRedraw.contains("ETA"), "no ETA from the first sample: \(screen.lastRedraw)")
        XCTAssertTrue(screen.lastRedraw.hasPrefix("push upload  19%"), screen.lastRedraw)
        XCTAssertTrue(screen.lastRedraw.contains("0/4 blobs"), screen.lastRedraw)
        XCTAssertTrue(screen.lastRedraw.hasSuffix("  flink-project/library-flink"), screen.lastRedraw)
        for step in 2...40 {
            screen.now = Double(step) * 0.5
            progress.advance(5 << 20)
        }
        screen.now += 0.2
        progress.blobDone()
        let line = screen.lastRedraw
        XCTAssertLessThan(line.count, 120, "fits the terminal: \(line)")
        XCTAssertTrue(line.contains("1/4 blobs"), line)
        let rate = try? XCTUnwrap(line.range(of: #"[0-9.]+ MiB/s"#, options: .regularExpression).map { Double(line[$0].split(separator: " ")[0])! })
        XCTAssertNotNil(rate)
        XCTAssertEqual(rate ?? 0, 10, accuracy: 1, "smoothed to the steady rate, not the burst: \(line)")
        let eta = line.range(of: #"ETA [0-9m]+s"#, options: .regularExpression).map { String(line[$0]) }
        // (1024 - 395) MiB left at 10 MiB/s: about a minute.
        XCTAssertEqual(eta, "ETA 1m03s", line)
        progress.complete()
        XCTAssertTrue(screen.output.hasSuffix("\r\u{1B}[K"), "the line is cleared for the result")
    }

    func testNoneWritesNothing() {
        let screen = Screen()
        let progress = reporter(.none, screen)
        progress.begin("upload", bytes: 100, blobs: 1)
        screen.now = 30
        progress.advance(100)
        progress.tick()
        progress.complete()
        XCTAssertEqual(screen.output, "")
    }
}

extension ProgressReportTests {
    func testTerminalLineNeverWrapsOnANarrowTerminal() {
        let screen = Screen()
        let progress = TransferProgress(label: "push", style: .tty, write: screen.write, clock: { screen.now }, columns: 70, ticking: false)
        progress.begin("upload", bytes: 1 << 30, blobs: 12, subject: "flink-project/library-flink")
        screen.now = 1
        progress.advance(1 << 20)
        XCTAssertLessThan(screen.lastRedraw.count, 70, screen.lastRedraw)
        XCTAssertTrue(screen.lastRedraw.hasSuffix("…"), "the name is cut, not the numbers: \(screen.lastRedraw)")
    }
}
