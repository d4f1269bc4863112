import AirgapTestSupport
import Foundation
import XCTest

/// What the operator and the pipeline see of a run: every `--json` document holds to its schema
/// in schemas/ (failures included), `--quiet` prints nothing on success, and off a terminal a
/// long push keeps saying where it is.
final class OperatorOutputTests: XCTestCase {
    static var upstream: RegistryServer!
    static var layouts: TemporaryDirectory!
    static var maven: TemporaryDirectory!
    static var mavenServer: StaticHTTPServer!
    static var work: TemporaryDirectory!
    static var packJSON = ""

    override class func setUp() {
        super.setUp()
        do {
            upstream = try RegistryServer()
            layouts = try TemporaryDirectory("layouts")
            let layout = layouts.file("oci")
            try TestImages.build(layout: layout, ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "flink")
            try TestImages.push(layout: layout, ref: "flink", to: upstream, repository: "library/flink:1.17.1")
            // Big enough that a throttled upload takes seconds: two 12 MiB layers of noise.
            try TestImages.build(layout: layout, ref: "big", layers: 2, layerSize: 12 << 20, seed: "big")
            try TestImages.push(layout: layout, ref: "big", to: upstream, repository: "library/big:1")
            maven = try TemporaryDirectory("maven")
            try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2"], in: maven.path, options: ["--size", "100000"])
            mavenServer = try StaticHTTPServer(directory: maven.path)
            work = try TemporaryDirectory("output")
            try TestArtifacts.chart(in: work, name: "flink-cdc")
            let spec = try work.write("airgap.yaml", """
            images:
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
            jars:
              repository: \(mavenServer.url)
              artifacts:
                - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
            charts:
              - path: flink-cdc
            mirrors:
              docker.io: http://\(upstream.host)
            """)
            packJSON = try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar"), "--json"]).stdout
            let big = try work.write("big.yaml", "images:\n  - ref: docker.io/library/big:1\nmirrors:\n  docker.io: http://\(upstream.host)\n")
            try AirgapRunner().check(["pack", "--spec", big, "--lock", work.file("big.lock"), "--output", work.file("big.tar")])
        } catch { fatalError("output fixture: \(error)") }
    }

    override class func tearDown() {
        upstream = nil
        mavenServer = nil
        super.tearDown()
    }

    var bundle: String { Self.work.file("bundle.tar") }

    /// Validates one document with python3-jsonschema against schemas/NAME.schema.json.
    private func assertValid(_ document: String, against name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let input = try TemporaryDirectory("json")
        let path = try input.write("document.json", document)
        let result = try Command.run("python3", [Paths.fixture("validate_json.py"), name, path])
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "valid",
                       "\(name): \(result.stdout)\(result.stderr)\n\(document)", file: file, line: line)
    }

    /// Stdout is exactly one JSON object.
    private func object(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text, file: file, line: line)
    }

    /// An entry as every verb prints it, without the one field only that verb knows.
    private func shapes(_ document: [String: Any], dropping field: String) -> [NSDictionary] {
        ((document["entries"] as? [[String: Any]]) ?? []).map { entry in
            var entry = entry
            entry[field] = nil
            return entry as NSDictionary
        }.sorted { ($0["reference"] as? String ?? "") < ($1["reference"] as? String ?? "") }
    }

    func testEveryJSONDocumentHoldsToItsSchemaAndEntriesHaveOneShape() throws {
        let airgap = try AirgapRunner()
        try assertValid(Self.packJSON, against: "pack")
        let verify = try airgap.check(["verify", bundle, "--json"]).stdout
        try assertValid(verify, against: "verify")
        let inspect = try airgap.check(["inspect", bundle, "--json"]).stdout
        try assertValid(inspect, against: "inspect")
        for reference in ["docker.io/library/flink:1.17.1", "com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "flink-cdc"] {
            let detail = try airgap.check(["inspect", bundle, reference, "--json"]).stdout
            try assertValid(detail, against: "inspect")
        }

        let registry = try RegistryServer()
        let chartOut = try TemporaryDirectory("chart-out")
        let dry = try airgap.check(["push", bundle, "--registry", registry.host, "--plain-http", "--chart-out", chartOut.path, "--dry-run", "--json"]).stdout
        try assertValid(dry, against: "push")
        let plan = try XCTUnwrap(try object(dry)["plan"] as? [String: Any])
        let blobs = try XCTUnwrap(plan["blobs"] as? [[String: Any]])
        XCTAssertFalse(blobs.isEmpty, dry)
        XCTAssertEqual(plan["bytes"] as? Int, blobs.compactMap { $0["bytes"] as? Int }.reduce(0, +), "the plan's bytes add up")
        XCTAssertTrue((plan["tags"] as? [[String: Any]])?.contains { $0["repository"] as? String == "library/flink" && $0["tag"] as? String == "1.17.1" } == true, dry)
        XCTAssertTrue((plan["manifests"] as? [[String: Any]])?.isEmpty == false, dry)
        let files = try XCTUnwrap(plan["files"] as? [[String: Any]])
        XCTAssertEqual(files.first?["action"] as? String, "unpack", dry)
        XCTAssertTrue(files.contains { ($0["path"] as? String)?.hasSuffix("flink-sql-connector-sqlserver-cdc-2.4.2.jar") == true && $0["bytes"] is Int }, dry)
        XCTAssertFalse(registry.accessLog().contains("\"PUT "), "a dry run writes nothing")

        let push = try airgap.check(["push", bundle, "--registry", registry.host, "--plain-http", "--json"]).stdout
        try assertValid(push, against: "push")
        let audit = try airgap.run(["audit", "--bundle", bundle, "--registry", registry.host, "--plain-http", "--json"])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        try assertValid(audit.stdout, against: "audit")

        // One entry shape: pack, verify, inspect and push print the same entries, numbers
        // included, each with only its own extra field.
        let verified = shapes(try object(verify), dropping: "-")
        XCTAssertEqual(verified.count, 3, verify)
        XCTAssertEqual(shapes(try object(Self.packJSON), dropping: "upstreamDigest"), verified)
        XCTAssertEqual(shapes(try object(inspect), dropping: "-"), verified)
        XCTAssertEqual(shapes(try object(push), dropping: "target"), verified)
        // lock --json is the lock with the version: one schema for both, checked on the lock file
        // written here and on the seed deployment's own bundle.lock.
        let scratch = try TemporaryDirectory("json-more")
        let lock = try airgap.check(["lock", "--spec", Self.work.file("airgap.yaml"), "--lock", scratch.file("again.lock"), "--json"]).stdout
        try assertValid(lock, against: "lock")
        try assertValid(String(decoding: try Data(contentsOf: URL(fileURLWithPath: scratch.file("again.lock"))), as: UTF8.self), against: "lock")
        try assertValid(String(decoding: try Data(contentsOf: URL(fileURLWithPath: Paths.repositoryRoot + "/bundle.lock")), as: UTF8.self), against: "lock")
        let extract = try airgap.check(["extract", bundle, "com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "--output", scratch.path, "--json"]).stdout
        try assertValid(extract, against: "extract")
        let image = try airgap.check(["extract", bundle, "docker.io/library/flink:1.17.1", "--output", scratch.file("layout"), "--json"]).stdout
        try assertValid(image, against: "extract")
        XCTAssertNotNil(try object(image)["layoutReference"] as? String, image)
        for document in [Self.packJSON, verify, inspect, dry, push, audit.stdout, lock, extract, image] {
            XCTAssertEqual(try object(document)["schemaVersion"] as? Int, 1, document)
        }
    }

    func testFailuresWithJSONAreOneErrorDocumentWithTheUsualExitCode() throws {
        let airgap = try AirgapRunner()
        let cases: [(arguments: [String], status: Int32, kind: String)] = [
            (["verify", Self.work.file("absent.tar"), "--json"], 1, "bundle"),
            (["push", bundle, "--json"], 2, "usage"),
            (["audit", "--lock", Self.work.file("no-such.lock"), "--json"], 2, "audit"),
            (["inspect", bundle, "no-such-thing:1", "--json"], 1, "artifact"),
        ]
        for (arguments, status, kind) in cases {
            let result = try airgap.run(arguments)
            XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
            try assertValid(result.stdout, against: "error")
            let error = try XCTUnwrap(try object(result.stdout)["error"] as? [String: Any])
            XCTAssertEqual(error["exitCode"] as? Int, Int(status), result.stdout)
            XCTAssertEqual(error["kind"] as? String, kind, "\(arguments): \(result.stdout)")
            // The same message the terminal shows, on stderr as ever.
            XCTAssertTrue(result.stderr.contains(error["message"] as? String ?? "?"), result.stderr)
        }
    }

    func testQuietPrintsNothingOnSuccess() throws {
        let airgap = try AirgapRunner()
        let registry = try RegistryServer()
        let spec = Self.work.file("airgap.yaml")
        let scratch = try TemporaryDirectory("quiet")
        let runs: [[String]] = [
            ["pack", "--spec", spec, "--output", scratch.file("again.tar"), "--quiet"],
            ["verify", bundle, "--quiet"],
            ["push", bundle, "--registry", registry.host, "--plain-http", "--quiet"],
            ["audit", "--bundle", bundle, "--registry", registry.host, "--plain-http", "--quiet"],
        ]
        for arguments in runs {
            let result = try airgap.run(arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(arguments[0]) --quiet: nothing on stdout")
            XCTAssertEqual(result.stderr, "", "\(arguments[0]) --quiet: nothing on stderr")
        }
        // Asked for by name, the document still comes; stderr stays silent.
        let both = try airgap.run(["verify", bundle, "--quiet", "--json"])
        XCTAssertEqual(both.status, 0, both.stderr)
        XCTAssertEqual(both.stderr, "")
        try assertValid(both.stdout, against: "verify")
        // Quiet, not idle: the work was done.
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.file("again.tar")))
        XCTAssertTrue(registry.accessLog().contains("\"PUT /v2/library/flink/manifests/1.17.1"), "push --quiet pushed")
    }

    func testSlowPushOffATerminalPrintsALineAtLeastEveryTenSecondsAndASummaryLast() throws {
        let registry = try RegistryServer()
        // 2 MiB/s for the 24 MiB of layers, and a tag PUT that hangs 12 s: bytes that trickle,
        // then a phase in which nothing moves.
        let proxy = try FaultProxy(upstream: registry, options: ["--throttle-upload", "\(2 << 20)",
                                                                 "--delay-substring", "/manifests/1", "--delay-method", "PUT", "--delay", "12"])
        let run = try Command.runStamped(AirgapRunner.binary, ["push", Self.work.file("big.tar"), "--registry", proxy.host, "--plain-http", "--jobs", "1"],
                                         environment: try AirgapRunner().environment)
        let log = run.stderrLines.map { String(format: "%6.2fs %@", $0.seconds, $0.line) }.joined(separator: "\n")
        XCTAssertEqual(run.status, 0, log)
        XCTAssertGreaterThan(run.duration, 15, "the transfer was slowed: \(log)")
        // The timer looks twice a second; one more second for a machine busy with other tests.
        XCTAssertLessThanOrEqual(run.longestSilence, 11, "a line at least every 10 s:\n\(log)")
        let upload = run.stderrLines.filter { $0.line.hasPrefix("airgap: push upload: ") }
        XCTAssertGreaterThanOrEqual(upload.count, 2, log)
        XCTAssertTrue(upload.contains { $0.line.contains(" blobs and manifests, ") && $0.line.contains(" MiB / 24.") && $0.line.hasSuffix(", library/big") }, log)
        XCTAssertTrue(upload.contains { $0.line.contains("24.0 MiB / 24.0 MiB (100%)") && $0.line.hasSuffix(", library/big:1") },
                      "the hanging tag PUT is reported while it hangs:\n\(log)")
        XCTAssertLessThan(upload.first?.seconds ?? .infinity, run.duration - 12, "progress while it happens, not at the end:\n\(log)")
        XCTAssertTrue(run.stderrLines.last?.line.hasPrefix("airgap: push: done in ") == true, log)
        XCTAssertFalse(run.stderr.contains("\r") || run.stderr.contains("\u{1B}"), "plain lines, no terminal codes")
        XCTAssertTrue(run.stdout.contains("pushed to \(proxy.host)"), run.stdout)
    }
}
