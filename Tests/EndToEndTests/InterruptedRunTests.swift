import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// Nothing half-done survives: pack and push killed at random points (SIGKILL, no chance to
/// clean up) are completed by the next run, which leaves no partial or ingest file behind; the
/// tarball and its checksum file never disagree; the pack is byte for byte the one an
/// uninterrupted run writes. SIGTERM removes what the run was writing. A damaged cache heals.
final class InterruptedRunTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var maven: StaticHTTPServer!
    static var fixture: TemporaryDirectory!
    static var reference = Data()
    static var packSeconds = 0.0
    static var warmPackSeconds = 0.0

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            fixture = try TemporaryDirectory("interrupted")
            try TestArtifacts.publish(["org.apache.flink:flink-sql-connector-kafka:1.17.1"], in: fixture.file("maven"), options: ["--size", "200000"])
            maven = try StaticHTTPServer(directory: fixture.file("maven"))
            try TestArtifacts.chart(in: fixture, name: "flink-cdc")
            _ = try spec(in: fixture)
            let started = Date()
            try AirgapRunner().check(["pack", "--spec", fixture.file("airgap.yaml"), "--output", fixture.file("bundle.tar"),
                                      "--cache", fixture.file("cache")])
            packSeconds = Date().timeIntervalSince(started)
            let warm = Date()
            try AirgapRunner().check(["pack", "--spec", fixture.file("airgap.yaml"), "--output", fixture.file("warm.tar"),
                                      "--cache", fixture.file("cache")])
            warmPackSeconds = Date().timeIntervalSince(warm)
            reference = try Data(contentsOf: URL(fileURLWithPath: fixture.file("bundle.tar")))
        } catch { fatalError("interrupted-run fixture: \(error)") }
    }

    override class func tearDown() {
        maven = nil
        upstream = nil
        fixture = nil
        super.tearDown()
    }

    @discardableResult
    static func spec(in directory: TemporaryDirectory) throws -> String {
        if !FileManager.default.fileExists(atPath: directory.file("flink-cdc")) {
            try FileManager.default.copyItem(atPath: fixture.file("flink-cdc"), toPath: directory.file("flink-cdc"))
        }
        return try directory.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
          - ref: busybox:1
        jars:
          repository: \(maven.url)
          artifacts:
            - org.apache.flink:flink-sql-connector-kafka:1.17.1
        charts:
          - path: flink-cdc
        mirrors:
          docker.io: http://\(upstream.registry.host)
        """)
    }

    /// SplitMix64: the same kill points on every run of the test.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Starts `airgap` and sends it `signal` after `delay` seconds (if it is still running).
    static func interrupt(_ arguments: [String], after delay: Double, signal: Int32 = SIGKILL,
                          beforeSignal: () -> Void = {}) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.airgapBinary)
        process.arguments = arguments
        process.environment = try AirgapRunner().environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning, Date() < deadline { usleep(2_000) }
        if process.isRunning {
            beforeSignal()
            kill(process.processIdentifier, signal)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Files airgap writes while working: `.x.partial-<pid>-<n>`, and the cache's ingest files.
    static func leftovers(in directories: [String]) -> [String] {
        var found: [String] = []
        for directory in directories {
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else { continue }
            for case let name as String in enumerator {
                if name.contains(".partial-") || (name.hasPrefix("ingest/") && name.count > "ingest/".count) {
                    found.append("\(directory)/\(name)")
                }
            }
        }
        return found
    }

    /// If both the tarball and its checksum file are there, they agree.
    static func pairAgrees(_ bundle: String) throws -> Bool {
        guard let recorded = try? String(contentsOfFile: bundle + ".sha256", encoding: .utf8),
              FileManager.default.fileExists(atPath: bundle) else { return true }
        let actual = try Command.check("sha256sum", [bundle]).stdout.split(separator: " ")[0]
        return recorded.split(separator: " ")[0] == actual
    }

    func testPackKilledAtRandomPointsIsCompletedByTheNextRun() throws {
        var random = SeededRandom(state: 20_261_126)
        var killed = 0
        for run in 0..<20 {
            let work = try TemporaryDirectory("pack-kill")
            let spec = try Self.spec(in: work)
            // Even runs start cold (downloads in flight), odd runs over an earlier bundle and a
            // warm cache (the tar and checksum being replaced).
            if run % 2 == 1 {
                try FileManager.default.copyItem(atPath: Self.fixture.file("cache"), toPath: work.file("cache"))
                try Data("an older bundle".utf8).write(to: URL(fileURLWithPath: work.file("bundle.tar")))
                try "0000  bundle.tar\n".write(toFile: work.file("bundle.tar.sha256"), atomically: true, encoding: .utf8)
                try FileManager.default.copyItem(atPath: Self.fixture.file("bundle.lock"), toPath: work.file("bundle.lock"))
            }
            let arguments = ["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache")]
            let duration = run % 2 == 1 ? Self.warmPackSeconds : Self.packSeconds
            let delay = Double.random(in: 0.02...max(0.1, duration * 0.85), using: &random)
            if try Self.interrupt(arguments, after: delay) == SIGKILL { killed += 1 }
            if run % 2 == 1 {
                let old = try? Data(contentsOf: URL(fileURLWithPath: work.file("bundle.tar")))
                let sum = try? String(contentsOfFile: work.file("bundle.tar.sha256"), encoding: .utf8)
                XCTAssertFalse(old != Data("an older bundle".utf8) && sum == "0000  bundle.tar\n",
                               "run \(run) after \(delay)s: a new tarball beside the old checksum")
            } else {
                XCTAssertTrue(try Self.pairAgrees(work.file("bundle.tar")), "run \(run) after \(delay)s: tar and .sha256 disagree")
            }

            try AirgapRunner().check(arguments)
            XCTAssertEqual(Self.leftovers(in: [work.path, work.file("cache")]), [], "run \(run) after \(delay)s")
            XCTAssertTrue(try Self.pairAgrees(work.file("bundle.tar")), "run \(run)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.tar"))), Self.reference,
                           "run \(run) after \(delay)s: the same bytes as an uninterrupted pack")
        }
        XCTAssertGreaterThanOrEqual(killed, 10, "most runs were really killed mid-way")
    }

    func testPushKilledAtRandomPointsIsCompletedByTheNextRun() throws {
        var random = SeededRandom(state: 42)
        let bundle = Self.fixture.file("bundle.tar")
        // How long an uninterrupted push takes here, to draw kill points from.
        let timing = try RegistryServer()
        let timingChart = try TemporaryDirectory("push-timing")
        try FileManager.default.copyItem(atPath: Self.fixture.file("flink-cdc"), toPath: timingChart.file("flink-cdc"))
        let started = Date()
        try AirgapRunner().check(["push", bundle, "--registry", timing.host, "--plain-http", "--chart-dir", timingChart.file("flink-cdc"),
                                  "--chunk-size", "65536", "--cache", timingChart.file("cache")])
        let pushSeconds = Date().timeIntervalSince(started)
        timing.stop()

        var killed = 0
        for run in 0..<10 {
            let registry = try RegistryServer()
            defer { registry.stop() }
            let work = try TemporaryDirectory("push-kill")
            try FileManager.default.copyItem(atPath: Self.fixture.file("flink-cdc"), toPath: work.file("flink-cdc"))
            let chart = work.file("flink-cdc")
            // Small chunks, so that some kills land in the middle of a chunked upload.
            let arguments = ["push", bundle, "--registry", registry.host, "--plain-http", "--chart-dir", chart,
                             "--chunk-size", "65536", "--cache", work.file("cache")]
            let delay = Double.random(in: 0.02...max(0.1, pushSeconds * 0.85), using: &random)
            if try Self.interrupt(arguments, after: delay) == SIGKILL { killed += 1 }

            try AirgapRunner().check(arguments)
            XCTAssertEqual(Self.leftovers(in: [work.path]), [], "run \(run) after \(delay)s")
            let sessions = (try? FileManager.default.contentsOfDirectory(atPath: work.file("cache/uploads"))) ?? []
            XCTAssertEqual(sessions, [], "run \(run): no upload session left recorded")
            let audit = try AirgapRunner().run(["audit", "--lock", Self.fixture.file("bundle.lock"), "--registry", registry.host,
                                                "--plain-http", "--chart-dir", chart])
            XCTAssertEqual(audit.status, 0, "run \(run) after \(delay)s: \(audit.stdout)")
        }
        XCTAssertGreaterThanOrEqual(killed, 6, "most runs were really killed mid-way")
    }

    func testSigtermDuringPackRemovesWhatItWasWriting() throws {
        try assertSignalRemovesWhatPackWasWriting(SIGTERM)
    }

    func testSigintDuringPackRemovesWhatItWasWriting() throws {
        try assertSignalRemovesWhatPackWasWriting(SIGINT)
    }

    private func assertSignalRemovesWhatPackWasWriting(_ signal: Int32) throws {
        // A registry that answers blob requests slowly, so the downloads are in flight.
        let proxy = try FaultProxy(upstream: Self.upstream.registry, options: ["--delay-substring", "/blobs/", "--delay", "3"])
        let work = try TemporaryDirectory("sigterm")
        try FileManager.default.copyItem(atPath: Self.fixture.file("flink-cdc"), toPath: work.file("flink-cdc"))
        let spec = try work.write("airgap.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
        mirrors:
          docker.io: http://\(proxy.host)
        """)
        var inFlight: [String] = []
        let status = try Self.interrupt(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache")],
                                        after: 1.5, signal: signal) { inFlight = Self.leftovers(in: [work.path, work.file("cache")]) }
        // Blobs download straight into the unpublished tarball: that is what is being written.
        XCTAssertFalse(inFlight.isEmpty, "downloads were being written when the signal came")
        XCTAssertEqual(status, 128 + signal, "exits as a shell expects after the signal")
        XCTAssertEqual(Self.leftovers(in: [work.path, work.file("cache")]), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("bundle.tar")))
    }

    func testDamagedCacheBlobIsMovedAsideAndFetchedAgain() throws {
        let work = try TemporaryDirectory("heal")
        let spec = try Self.spec(in: work)
        try FileManager.default.copyItem(atPath: Self.fixture.file("cache"), toPath: work.file("cache"))
        try FileManager.default.copyItem(atPath: Self.fixture.file("bundle.lock"), toPath: work.file("bundle.lock"))
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        let jar = try XCTUnwrap((lock["jars"] as? [[String: Any]])?.first?["sha256"] as? String)
        // The largest image layer, and the JAR: same size, other bytes.
        let blobs = work.file("cache/blobs/sha256")
        let layer = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: blobs).filter { $0 != jar.dropFirst(7) }.max {
            (FileDescriptorSize.of("\(blobs)/\($0)")) < (FileDescriptorSize.of("\(blobs)/\($1)"))
        })
        for name in [layer, String(jar.dropFirst(7))] {
            let path = "\(blobs)/\(name)"
            let size = FileDescriptorSize.of(path)
            try Data(repeating: 0x5A, count: Int(size)).write(to: URL(fileURLWithPath: path))
        }
        let result = try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache")])
        let healed = result.stderr.split(separator: "\n").filter { $0.contains("moved aside") }
        XCTAssertEqual(healed.count, 2, "one line per healed blob: \(result.stderr)")
        XCTAssertTrue(healed.contains { $0.contains(layer) } && healed.contains { $0.contains(jar.dropFirst(7)) }, result.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.tar"))), Self.reference)
        try AirgapRunner().check(["verify", work.file("bundle.tar")])
        // A third pack finds a healthy cache and says nothing about it.
        let again = try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--cache", work.file("cache")])
        XCTAssertFalse(again.stderr.contains("moved aside"), again.stderr)
    }

    func testPartialFilesAreNeverPackedIntoAChart() throws {
        let work = try TemporaryDirectory("partial-chart")
        let spec = try Self.spec(in: work)
        try AirgapRunner().check(["lock", "--spec", spec, "--cache", work.file("cache")])
        let clean = try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))
        // What a push killed while writing a JAR into files/libs leaves (its writer is alive
        // here, so no sweep removes it: the chart packager must leave it out on its own).
        _ = try work.write("flink-cdc/files/libs/.flink-sql-connector-kafka-1.17.1.jar.partial-\(getpid())-12345", "half a JAR")
        try FileManager.default.removeItem(atPath: work.file("bundle.lock"))
        try AirgapRunner().check(["lock", "--spec", spec, "--cache", work.file("cache")])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock"))), clean, "the chart's digest did not change")
    }
}

/// A file's size, for the tests above.
enum FileDescriptorSize {
    static func of(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
