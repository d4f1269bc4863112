import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// The bundle and its lock are checked as one thing: every field of the lock, changed in a
/// `--lock` file or in the lock inside the bundle (with the checksum file refreshed, as an
/// attacker would), makes `verify` exit 1 and `audit` report a finding, and `push` writes
/// nothing: no repository in the registry, no file in the chart's `files/libs`.
final class LockAgreementTests: XCTestCase {
    static var upstream: UpstreamFixture!
    static var work: TemporaryDirectory!
    static var maven: StaticHTTPServer!
    static var registry: RegistryServer!
    static var lock: [String: Any] = [:]

    override class func setUp() {
        super.setUp()
        do {
            upstream = try UpstreamFixture()
            work = try TemporaryDirectory("lock-agreement")
            try TestArtifacts.publish(["org.apache.flink:flink-sql-connector-kafka:1.17.1"], in: work.file("maven"))
            maven = try StaticHTTPServer(directory: work.file("maven"))
            try TestArtifacts.chart(in: work, name: "flink-cdc")
            // A whole upstream index (flink), a narrowed one (app), a single manifest (busybox),
            // a JAR and a chart: every shape of entry the lock can pin.
            let spec = try work.write("airgap.yaml", """
            images:
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
              - ref: docker.io/apache/app:2
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
            try AirgapRunner().check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
            lock = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any] ?? [:]
            registry = try RegistryServer()
        } catch { fatalError("lock agreement fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        maven = nil
        upstream = nil
        work = nil
        super.tearDown()
    }

    /// One row per lock field: how to change it. `[*]` stands for every entry of a list (keyed
    /// by reference, platform manifests by platform).
    static let table: [(field: String, change: (Any, [String: Any]) -> Any)] = [
        ("lockVersion", { _, _ in 2 }),
        ("airgapVersion", { _, _ in "0.0.1-elsewhere" }),
        ("specDigest", { _, _ in Digest.sha256(of: Data("another spec".utf8)).description }),
        ("images[*].reference", { value, _ in "\(value)-renamed" }),
        ("images[*].platforms", { _, _ in "linux/s390x" }),
        ("images[*].upstream.mediaType", { value, _ in otherMediaType(value) }),
        ("images[*].upstream.digest", { _, _ in fakeDigest("upstream") }),
        ("images[*].upstream.size", { value, _ in (value as! Int) + 1 }),
        ("images[*].bundled.mediaType", { value, _ in otherMediaType(value) }),
        ("images[*].bundled.digest", { _, _ in fakeDigest("bundled") }),
        ("images[*].bundled.size", { value, _ in (value as! Int) + 1 }),
        ("images[*].manifests[*].platform", { _, _ in "linux/ppc64le" }),
        ("images[*].manifests[*].digest", { _, _ in fakeDigest("platform") }),
        ("images[*].manifests[*].size", { value, _ in (value as! Int) - 1 }),
        ("images[*].size", { value, _ in (value as! Int) + 512 }),
        ("jars[*].coordinates", { _, _ in "org.apache.flink:flink-sql-connector-kafka:1.17.2" }),
        ("jars[*].reference", { _, _ in "maven/org.apache.flink/flink-sql-connector-kafka:1.17.2" }),
        ("jars[*].url", { value, _ in (value as! String).replacingOccurrences(of: "/org/apache/", with: "/org/evil/") }),
        // The chart archive's digest and size: a real blob of the bundle, but not this JAR.
        ("jars[*].sha256", { _, lock in ((lock["charts"] as! [[String: Any]])[0]["digest"])! }),
        ("jars[*].size", { _, _ in -1 }),
        ("jars[*].upstreamChecksum.algorithm", { value, _ in value as! String == "sha1" ? "sha512" : "sha1" }),
        ("jars[*].upstreamChecksum.value", { value, _ in flipHex(value as! String) }),
        ("jars[*].verified", { _, _ in false }),
        ("jars[*].bundled.mediaType", { value, _ in otherMediaType(value) }),
        ("jars[*].bundled.digest", { _, _ in fakeDigest("jar") }),
        ("jars[*].bundled.size", { value, _ in (value as! Int) + 1 }),
        ("charts[*].name", { _, _ in "other-chart" }),
        ("charts[*].version", { _, _ in "9.9.9" }),
        ("charts[*].source", { _, _ in "path:elsewhere/flink-cdc" }),
        ("charts[*].reference", { _, _ in "charts/flink-cdc:9.9.9" }),
        ("charts[*].digest", { _, lock in ((lock["jars"] as! [[String: Any]])[0]["sha256"])! }),
        ("charts[*].size", { value, _ in (value as! Int) + 1 }),
        ("charts[*].bundled.mediaType", { value, _ in otherMediaType(value) }),
        ("charts[*].bundled.digest", { _, _ in fakeDigest("chart") }),
        ("charts[*].bundled.size", { value, _ in (value as! Int) + 1 }),
    ]

    /// Fields the bundle itself cannot tell (what the spec was, which airgap wrote the lock,
    /// where the chart came from, how big an upstream index was that the bundle carries only a
    /// narrowed copy of): only a lock of the operator's own (`--lock`) catches a change there.
    static let onlyAgainstAnotherLock: Set<String> = [
        "airgapVersion", "specDigest", "charts[charts/flink-cdc:0.1.0].source", "images[docker.io/apache/app:2].upstream.size",
    ]

    static func fakeDigest(_ seed: String) -> String { Digest.sha256(of: Data(seed.utf8)).description }

    static func otherMediaType(_ value: Any) -> String {
        (value as! String) == MediaType.ociManifest ? MediaType.dockerManifest : MediaType.ociManifest
    }

    static func flipHex(_ text: String) -> String {
        var characters = Array(text)
        characters[5] = characters[5] == "0" ? "1" : "0"
        return String(characters)
    }

    /// Every leaf of the lock: its concrete path (`images[docker.io/library/flink:1.17.1].size`)
    /// and the table row that covers it (`images[*].size`).
    static func leaves(_ value: Any, path: String = "", pattern: String = "") -> [(path: String, pattern: String)] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { key in
                leaves(object[key]!, path: path.isEmpty ? key : "\(path).\(key)", pattern: pattern.isEmpty ? key : "\(pattern).\(key)")
            }
        }
        if let list = value as? [Any] {
            return list.flatMap { element -> [(path: String, pattern: String)] in
                let object = element as? [String: Any]
                let key = (object?["reference"] ?? object?["platform"]).map { "\($0)" } ?? "?"
                return leaves(element, path: "\(path)[\(key)]", pattern: "\(pattern)[*]")
            }
        }
        return [(path, pattern)]
    }

    /// The lock with the leaf at `path` changed.
    static func changed(_ lock: [String: Any], at path: String, by change: (Any, [String: Any]) -> Any) -> [String: Any] {
        func apply(_ value: Any, _ parts: ArraySlice<String>) -> Any {
            guard let part = parts.first else { return change(value, lock) }
            if let open = part.firstIndex(of: "["), var list = (value as? [String: Any])?[String(part[..<open])] as? [Any] {
                let key = String(part[part.index(after: open)..<part.index(before: part.endIndex)])
                var object = value as! [String: Any]
                for (position, element) in list.enumerated() {
                    let entry = element as? [String: Any]
                    if (entry?["reference"] ?? entry?["platform"]).map({ "\($0)" }) == key { list[position] = apply(element, parts.dropFirst()) }
                }
                object[String(part[..<open])] = list
                return object
            }
            var object = value as! [String: Any]
            object[part] = apply(object[part]!, parts.dropFirst())
            return object
        }
        // Split on dots outside brackets (references hold dots).
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in path {
            if character == "[" { depth += 1 } else if character == "]" { depth -= 1 }
            if character == ".", depth == 0 { parts.append(current); current = "" } else { current.append(character) }
        }
        parts.append(current)
        return apply(lock, parts[...]) as! [String: Any]
    }

    static func write(_ lock: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: lock, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func catalog() throws -> [String] {
        let body = try Command.check("curl", ["-sf", "http://\(Self.registry.host)/v2/_catalog"]).stdout
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["repositories"] as? [String] ?? []
    }

    func testTheTableCoversEveryFieldOfTheLock() throws {
        let patterns = Set(Self.table.map(\.field))
        let uncovered = Self.leaves(Self.lock).filter { !patterns.contains($0.pattern) }.map(\.path)
        XCTAssertEqual(uncovered, [], "every lock field has a row")
        XCTAssertGreaterThanOrEqual(Self.leaves(Self.lock).count, 60, "the fixture's lock has as many fields as the seed's")
    }

    func testUntouchedBundleAndLockAgree() throws {
        let airgap = try AirgapRunner()
        try airgap.check(["verify", Self.work.file("bundle.tar"), "--lock", Self.work.file("bundle.lock")])
        let audit = try airgap.run(["audit", "--lock", Self.work.file("bundle.lock"), "--bundle", Self.work.file("bundle.tar")])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    func testEveryChangedLockFieldFailsVerifyAndAuditAndPushWritesNothing() throws {
        let airgap = try AirgapRunner()
        let scratch = try TemporaryDirectory("fields")
        let chart = try TestArtifacts.chart(in: scratch, name: "flink-cdc")
        let libs = "\(chart)/files/libs"
        let original = Self.work.file("bundle.lock")
        var checked = 0
        for leaf in Self.leaves(Self.lock) {
            guard let row = Self.table.first(where: { $0.field == leaf.pattern }) else { continue }
            let field = leaf.path
            let lock = Self.changed(Self.lock, at: field, by: row.change)
            XCTAssertFalse(NSDictionary(dictionary: lock).isEqual(to: Self.lock), "\(field): the change changes something")

            // 1. The operator's own lock changed.
            let external = scratch.file("external.lock")
            try Self.write(lock, to: external)
            let verifyExternal = try airgap.run(["verify", Self.work.file("bundle.tar"), "--lock", external])
            XCTAssertEqual(verifyExternal.status, 1, "\(field) in --lock: \(verifyExternal.stderr)")
            XCTAssertEqual(verifyExternal.stderr.split(separator: "\n").count, 1, "\(field): one line: \(verifyExternal.stderr)")
            let auditExternal = try airgap.run(["audit", "--json", "--lock", external, "--bundle", Self.work.file("bundle.tar")])
            XCTAssertEqual(auditExternal.status, 1, "\(field) in --lock: audit \(auditExternal.stdout)")
            XCTAssertTrue(auditExternal.stdout.contains("\"BUNDLE-"), "\(field) in --lock: a bundle finding: \(auditExternal.stdout)")

            // 2. The lock inside the bundle changed, and the checksum file made to match.
            let bundle = scratch.file("bundle.tar")
            try? FileManager.default.removeItem(atPath: bundle)
            try FileManager.default.copyItem(atPath: Self.work.file("bundle.tar"), toPath: bundle)
            let embedded = scratch.file("embedded.lock")
            try Self.write(lock, to: embedded)
            try Tamper.run(["replace", bundle, "airgap/bundle.lock", embedded])
            let sum = try Command.check("sha256sum", [bundle]).stdout.split(separator: " ")[0]
            try "\(sum)  bundle.tar\n".write(toFile: bundle + ".sha256", atomically: true, encoding: .utf8)
            let verifyEmbedded = try airgap.run(["verify", bundle, "--lock", original])
            XCTAssertEqual(verifyEmbedded.status, 1, "\(field) inside: \(verifyEmbedded.stderr)")
            if !Self.onlyAgainstAnotherLock.contains(field) {
                let alone = try airgap.run(["verify", bundle])
                XCTAssertEqual(alone.status, 1, "\(field) inside, no --lock: \(alone.stdout)")
            }
            let auditEmbedded = try airgap.run(["audit", "--json", "--lock", original, "--bundle", bundle])
            XCTAssertEqual(auditEmbedded.status, 1, "\(field) inside: audit \(auditEmbedded.stdout)")
            XCTAssertTrue(auditEmbedded.stdout.contains("\"BUNDLE-LOCK-DIFFERS\""), "\(field) inside: \(auditEmbedded.stdout)")

            // 3. Push writes nothing from either.
            var pushes = [["push", Self.work.file("bundle.tar"), "--lock", external], ["push", bundle, "--lock", original]]
            if !Self.onlyAgainstAnotherLock.contains(field) { pushes.append(["push", bundle]) }
            for push in pushes {
                let result = try airgap.run(push + ["--registry", Self.registry.host, "--plain-http", "--chart-dir", chart])
                XCTAssertEqual(result.status, 1, "\(field): \(push.joined(separator: " ")): \(result.stdout) \(result.stderr)")
            }
            XCTAssertEqual(try catalog(), [], "\(field): no repository created")
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: libs)) ?? [], [], "\(field): files/libs untouched")
            checked += 1
        }
        XCTAssertEqual(checked, Self.leaves(Self.lock).count, "every field was tried")
        XCTAssertFalse(Self.registry.accessLog().contains("\"PUT ") || Self.registry.accessLog().contains("\"POST ")
                       || Self.registry.accessLog().contains("\"PATCH "), "no write ever reached the registry")
    }

    func testJarShaPointingAtTheChartArchiveIsRefusedByPushAndNamedByAudit() throws {
        let airgap = try AirgapRunner()
        let scratch = try TemporaryDirectory("smuggle")
        let chartDigest = (Self.lock["charts"] as! [[String: Any]])[0]["digest"] as! String
        let chartSize = (Self.lock["charts"] as! [[String: Any]])[0]["size"] as! Int
        var lock = Self.changed(Self.lock, at: "jars[maven/org.apache.flink/flink-sql-connector-kafka:1.17.1].sha256", by: { _, _ in chartDigest })
        lock = Self.changed(lock, at: "jars[maven/org.apache.flink/flink-sql-connector-kafka:1.17.1].size", by: { _, _ in chartSize })
        let bundle = scratch.file("bundle.tar")
        try FileManager.default.copyItem(atPath: Self.work.file("bundle.tar"), toPath: bundle)
        try Self.write(lock, to: scratch.file("inside.lock"))
        try Tamper.run(["replace", bundle, "airgap/bundle.lock", scratch.file("inside.lock")])
        let chart = try TestArtifacts.chart(in: scratch, name: "flink-cdc")
        let push = try airgap.run(["push", bundle, "--registry", Self.registry.host, "--plain-http", "--chart-dir", chart])
        XCTAssertEqual(push.status, 1)
        XCTAssertTrue(push.stderr.contains("sha256") && push.stderr.contains(chartDigest), push.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(chart)/files/libs/flink-sql-connector-kafka-1.17.1.jar"))
        let audit = try airgap.run(["audit", "--json", "--lock", scratch.file("inside.lock"), "--bundle", bundle])
        XCTAssertEqual(audit.status, 1)
        XCTAssertTrue(audit.stdout.contains("BUNDLE-LOCK-FIELD") && audit.stdout.contains(chartDigest), audit.stdout)
    }
}
