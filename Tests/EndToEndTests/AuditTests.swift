import AirgapTestSupport
import Foundation
import XCTest

/// `airgap audit` on a lock, bundle, chart and registry made right, then wrong on purpose.
final class AuditTests: XCTestCase {
    static var work: TemporaryDirectory!
    static var registry: RegistryServer!
    static var maven: StaticHTTPServer!

    /// A Flink-like image that says FLINK_VERSION=1.17.1 and carries lib/flink-json-1.17.1.jar,
    /// the seed's two connectors, and a chart: packed, and pushed with --chart-dir.
    override class func setUp() {
        super.setUp()
        do {
            work = try TemporaryDirectory("audit")
            registry = try RegistryServer()
            try TestImages.build(layout: work.file("oci"), ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "audit",
                                 env: ["FLINK_VERSION=1.17.1"], files: ["opt/flink/lib/flink-json-1.17.1.jar", "opt/flink/lib/flink-dist-1.17.1.jar"])
            try TestImages.push(layout: work.file("oci"), ref: "flink", to: registry, repository: "library/flink:1.17.1")
            try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "org.apache.flink:flink-sql-connector-kafka:1.17.1",
                                       "org.apache.flink:flink-json:1.17.1"], in: work.file("maven"))
            maven = try StaticHTTPServer(directory: work.file("maven"))
            try TestArtifacts.chart(in: work, name: "flink-cdc")
            let spec = try work.write("airgap.yaml", """
            images:
              - ref: docker.io/library/flink:1.17.1
                platforms: [linux/amd64, linux/arm64]
            jars:
              repository: \(maven.url)
              artifacts:
                - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
                - org.apache.flink:flink-sql-connector-kafka:1.17.1
            charts:
              - path: flink-cdc
            mirrors:
              docker.io: http://\(registry.host)
            """)
            let airgap = try AirgapRunner()
            try airgap.check(["pack", "--spec", spec, "--output", work.file("bundle.tar")])
            try airgap.check(["push", work.file("bundle.tar"), "--registry", registry.host, "--plain-http", "--prefix", "internal",
                              "--chart-dir", work.file("flink-cdc")])
        } catch { fatalError("audit fixture: \(error)") }
    }

    override class func tearDown() {
        registry = nil
        maven = nil
        work = nil
        super.tearDown()
    }

    private var work: TemporaryDirectory { Self.work }

    /// Runs audit with `--json`; returns the exit status and the findings' ids.
    private func audit(_ arguments: [String]) throws -> (Int32, [String], [[String: Any]], String) {
        let result = try AirgapRunner().run(["audit", "--json"] + arguments)
        let report = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
        let findings = report?["findings"] as? [[String: Any]] ?? []
        return (result.status, findings.compactMap { $0["id"] as? String }, findings, result.stdout + result.stderr)
    }

    /// A copy of the lock with `change` applied to its JSON.
    private func lockVariant(_ name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        var lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        change(&lock)
        let path = work.file(name)
        try JSONSerialization.data(withJSONObject: lock, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testEverythingRightAuditsClean() throws {
        let (status, ids, _, output) = try audit(["--lock", work.file("bundle.lock"), "--spec", work.file("airgap.yaml"), "--bundle", work.file("bundle.tar"),
                                                  "--chart-dir", work.file("flink-cdc"), "--registry", Self.registry.host, "--plain-http", "--prefix", "internal"])
        XCTAssertEqual(ids, [], output)
        XCTAssertEqual(status, 0, output)
    }

    func testWithoutLockTheLockInsideTheBundleIsUsedAndNamed() throws {
        let result = try AirgapRunner().run(["audit", "--bundle", work.file("bundle.tar"), "--chart-dir", work.file("flink-cdc")],
                                            directory: work.file("flink-cdc"))
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("lock: airgap/bundle.lock in \(work.file("bundle.tar"))"), result.stdout)

        // A bundle that does not verify lends no lock: its defect is the finding.
        let damaged = work.file("damaged.tar")
        try FileManager.default.copyItem(atPath: work.file("bundle.tar"), toPath: damaged)
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        let jarDigest = try XCTUnwrap((lock["jars"] as? [[String: Any]])?.first?["sha256"] as? String)
        try Tamper.run(["flip", damaged, "blobs/sha256/" + jarDigest.dropFirst("sha256:".count)])
        let (status, ids, _, output) = try audit(["--bundle", damaged])
        XCTAssertEqual(status, 1, output)
        XCTAssertEqual(ids, ["BUNDLE-DEFECT"], output)
        XCTAssertTrue(output.contains("\"lock\" : \"none ("), output)
    }

    func testTheRepositorysOwnLockHasOnlyItsDocumentedUnresolvedPins() throws {
        let (status, ids, _, output) = try audit(["--lock", "\(Paths.repositoryRoot)/bundle.lock", "--spec", "\(Paths.repositoryRoot)/airgap.yaml"])
        XCTAssertEqual(status, 1, output)
        XCTAssertFalse(ids.isEmpty)
        XCTAssertEqual(Set(ids), ["LOCK-UNRESOLVED"], output)
    }

    func testTagOnlyImageIsAnError() throws {
        let lock = try lockVariant("tag-only.lock") { lock in
            var images = lock["images"] as! [[String: Any]]
            images[0]["bundled"] = nil
            images[0]["upstream"] = nil
            images[0]["manifests"] = []
            lock["images"] = images
        }
        let (status, ids, _, output) = try audit(["--lock", lock])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(ids, ["LOCK-TAG-ONLY"], output)
    }

    func testConnectorsThatDoNotFitFlink117() throws {
        for (coordinates, expected) in [("org.apache.flink:flink-sql-connector-kafka:3.0.1-1.16", ["FLINK-CONNECTOR-VERSION"]),
                                        ("org.apache.flink:flink-json:1.16.2", ["FLINK-CONNECTOR-VERSION", "FLINK-IN-IMAGE"]),
                                        ("com.ververica:flink-sql-connector-sqlserver-cdc:2.2.1", ["FLINK-CDC-VERSION"])] {
            let lock = try lockVariant("compat.lock") { lock in
                // Replaces the locked JAR of the same artifact (or the first): no duplicate on top.
                var jars = lock["jars"] as! [[String: Any]]
                let artifact = coordinates.split(separator: ":")[1]
                let index = jars.firstIndex { ($0["coordinates"] as? String)?.split(separator: ":")[1] == artifact } ?? 0
                jars[index]["coordinates"] = coordinates
                lock["jars"] = jars
            }
            let (status, ids, findings, output) = try audit(["--lock", lock])
            XCTAssertEqual(status, 1, coordinates)
            XCTAssertEqual(ids, expected, output)
            XCTAssertTrue(findings.allSatisfy { ($0["artifact"] as? String) == coordinates && ($0["fix"] as? String)?.isEmpty == false }, output)
        }
    }

    func testFlinkJsonIsFoundInTheBundledImagesOwnLib() throws {
        let lock = try lockVariant("json.lock") { lock in
            var jars = lock["jars"] as! [[String: Any]]
            jars[0]["coordinates"] = "org.apache.flink:flink-json:1.17.1"
            lock["jars"] = jars
        }
        let (status, ids, findings, output) = try audit(["--lock", lock, "--bundle", work.file("bundle.tar"), "--fail-on", "warning"])
        XCTAssertTrue(ids.contains("FLINK-IN-IMAGE"), output)
        XCTAssertTrue(findings.contains { ($0["message"] as? String)?.contains("read from the bundled image") == true }, output)
        XCTAssertEqual(status, 1, "a warning fails with --fail-on warning")
        let (lenient, _, _, _) = try audit(["--lock", lock, "--fail-on", "error"])
        XCTAssertEqual(lenient, 0, "a warning alone passes with --fail-on error")
    }

    func testJarWithWrongChecksumAndStrayJarInTheChart() throws {
        let chart = try TemporaryDirectory()
        try FileManager.default.copyItem(atPath: work.file("flink-cdc"), toPath: chart.file("flink-cdc"))
        let libs = chart.file("flink-cdc/files/libs")
        try Data("tampered".utf8).write(to: URL(fileURLWithPath: "\(libs)/flink-sql-connector-kafka-1.17.1.jar"))
        try Data("stray".utf8).write(to: URL(fileURLWithPath: "\(libs)/mystery-1.0.jar"))
        let (status, ids, _, output) = try audit(["--lock", work.file("bundle.lock"), "--chart-dir", chart.file("flink-cdc")])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(ids, ["CHART-LIBS-CHECKSUM", "CHART-LIBS-STRAY"], output)
    }

    func testBundleMissingABlobTheLockNames() throws {
        let damaged = work.file("missing-blob.tar")
        try? FileManager.default.removeItem(atPath: damaged)
        try FileManager.default.copyItem(atPath: work.file("bundle.tar"), toPath: damaged)
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        let jarDigest = try XCTUnwrap((lock["jars"] as? [[String: Any]])?.first?["sha256"] as? String)
        try Tamper.run(["remove", damaged, "blobs/sha256/" + jarDigest.dropFirst(7)])
        let (status, ids, findings, output) = try audit(["--lock", work.file("bundle.lock"), "--bundle", damaged])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(ids, ["BUNDLE-DEFECT"], output)
        XCTAssertTrue((findings.first?["artifact"] as? String)?.contains(String(jarDigest.dropFirst(7))) == true, output)
    }

    func testRegistryMissingAPlatformManifest() throws {
        let lock = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.file("bundle.lock")))) as? [String: Any])
        let arm64 = try XCTUnwrap(((lock["images"] as? [[String: Any]])?.first?["manifests"] as? [[String: Any]])?.first { $0["platform"] as? String == "linux/arm64" }?["digest"] as? String)
        // A second registry with the index but without the arm64 manifest.
        let partial = try RegistryServer()
        try AirgapRunner().check(["push", work.file("bundle.tar"), "--registry", partial.host, "--plain-http", "--prefix", "internal"])
        try Command.check("skopeo", ["delete", "--tls-verify=false", "docker://\(partial.host)/internal/library/flink@\(arm64)"])
        let (status, ids, findings, output) = try audit(["--lock", work.file("bundle.lock"), "--registry", partial.host, "--plain-http", "--prefix", "internal"])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(ids, ["REGISTRY-MISSING"], output)
        XCTAssertEqual(findings.first?["artifact"] as? String, "docker.io/library/flink:1.17.1 (linux/arm64)")
    }

    func testLockWarnsAboutCompatibilityButGoesOn() throws {
        let spec = try work.write("warn.yaml", """
        images:
          - ref: docker.io/library/flink:1.17.1
            platforms: [linux/amd64, linux/arm64]
        jars:
          repository: \(Self.maven.url)
          artifacts:
            - org.apache.flink:flink-json:1.17.1
        mirrors:
          docker.io: http://\(Self.registry.host)
        """)
        let result = try AirgapRunner().run(["lock", "--spec", spec, "--lock", work.file("warn.lock")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("warning: FLINK-IN-IMAGE org.apache.flink:flink-json:1.17.1"), result.stderr)
    }

    func testJSONIsStableAndExitCodesFollowTheRule() throws {
        let lock = try lockVariant("many.lock") { lock in
            var jars = lock["jars"] as! [[String: Any]]
            jars[0]["coordinates"] = "org.apache.flink:flink-json:1.16.2"
            jars[1]["verified"] = false
            jars[1]["upstreamChecksum"] = nil
            lock["jars"] = jars
        }
        let first = try AirgapRunner().run(["audit", "--json", "--lock", lock])
        let second = try AirgapRunner().run(["audit", "--json", "--lock", lock])
        XCTAssertEqual(first.stdout, second.stdout)
        let ids = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])?["findings"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        XCTAssertEqual(ids, ids.sorted(), "sorted by id")
        XCTAssertEqual(first.status, 1)
        XCTAssertEqual(try AirgapRunner().run(["audit", "--lock", work.file("no-such.lock")]).status, 2, "the audit could not run")
        XCTAssertEqual(try AirgapRunner().run(["audit", "--fail-on", "sometimes"]).status, 2, "usage")
        let table = try AirgapRunner().run(["audit", "--lock", lock])
        XCTAssertTrue(table.stdout.contains("LOCK-JAR-UNVERIFIED") && table.stdout.contains("fix:"), table.stdout)
    }
}
