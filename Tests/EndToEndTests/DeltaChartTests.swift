import AirgapTestSupport
import Foundation
import Manifests
import XCTest

/// `--chart-out` and `--chart-dir` from a delta: the chart comes from the delta itself (chart
/// archives are always carried), a JAR the delta leaves to its base is taken from where the
/// base's push placed it, after it hashes to the locked digest again, and is refused (before any
/// write) when it is not there or not those bytes.
final class DeltaChartTests: XCTestCase {
    static var work: TemporaryDirectory!
    static var airgap: AirgapRunner!
    static let sqlserver = "com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2"
    static let sqlserverJar = "flink-sql-connector-sqlserver-cdc-2.4.2.jar"
    static var oldBundle: String { work.file("old/bundle.tar") }
    static var delta: String { work.file("new/delta.tar") }

    override class func setUp() {
        super.setUp()
        do {
            work = try TemporaryDirectory("delta-chart")
            airgap = try AirgapRunner()
            let upstream = try RegistryServer()
            defer { upstream.stop() }
            let layout = work.file("oci")
            for version in ["1.17.1", "1.17.2"] {
                try TestImages.build(layout: layout, ref: version, platforms: ["linux/amd64"], layers: 3, seed: "kit", topSeed: version,
                                     env: ["FLINK_VERSION=\(version)"], files: ["opt/flink/lib/flink-dist-\(version).jar"])
                try TestImages.push(layout: layout, ref: version, to: upstream, repository: "library/flink:\(version)")
            }
            try TestArtifacts.publish([sqlserver, "org.apache.flink:flink-sql-connector-kafka:1.17.1", "org.apache.flink:flink-sql-connector-kafka:1.17.2"],
                                      in: work.file("maven"))
            let maven = try StaticHTTPServer(directory: work.file("maven"))
            try Command.check("cp", ["-R", "\(Paths.repositoryRoot)/charts/flink-cdc", work.file("flink-cdc")])
            for (directory, version) in [("old", "1.17.1"), ("new", "1.17.2")] {
                let spec = try work.write("\(directory)/airgap.yaml", """
                images:
                  - ref: docker.io/library/flink:\(version)
                jars:
                  repository: \(maven.url)
                  artifacts:
                    - \(sqlserver)
                    - org.apache.flink:flink-sql-connector-kafka:\(version)
                charts:
                  - path: ../flink-cdc
                mirrors:
                  docker.io: http://\(upstream.host)
                """)
                let output = work.file("\(directory)/\(directory == "old" ? "bundle" : "full").tar")
                try airgap.check(["pack", "--spec", spec, "--output", output])
            }
            try airgap.check(["pack", "--spec", work.file("new/airgap.yaml"), "--output", delta, "--since", work.file("old/bundle.lock")])
        } catch { fatalError("delta chart fixture: \(error)") }
    }

    override class func tearDown() {
        work = nil
        airgap = nil
        super.tearDown()
    }

    private func writes(_ registry: RegistryServer) -> Int {
        registry.accessLog().split(separator: "\n").filter { $0.contains("\"PUT ") || $0.contains("\"POST ") || $0.contains("\"PATCH ") }.count
    }

    private func sha256(_ path: String) throws -> Digest {
        Digest.sha256(of: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testTheUnchangedJarIsLeftToTheBase() throws {
        let members = try Command.check("tar", ["-tf", Self.delta]).stdout
        let lock = try Lockfile.decode(Data(contentsOf: URL(fileURLWithPath: Self.work.file("new/bundle.lock"))), path: "bundle.lock")
        let sqlserver = try XCTUnwrap(lock.jars.first { $0.coordinates.fileName == Self.sqlserverJar }?.sha256)
        let kafka = try XCTUnwrap(lock.jars.first { $0.coordinates.fileName == "flink-sql-connector-kafka-1.17.2.jar" }?.sha256)
        XCTAssertFalse(members.contains(sqlserver.encoded), "the unchanged JAR stays with the base")
        XCTAssertTrue(members.contains(kafka.encoded), "the bumped JAR is carried")
        let chart = try XCTUnwrap(lock.charts.first?.digest)
        XCTAssertTrue(members.contains(chart.encoded), "the chart archive is always carried")
    }

    func testChartOutFromADeltaReusesTheBasesJarAfterCheckingIt() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let site = try TemporaryDirectory("site")
        try Self.airgap.check(["push", Self.oldBundle, "--registry", registry.host, "--plain-http", "--chart-out", site.path])
        let libs = site.file("flink-cdc/files/libs")
        let placed = try sha256("\(libs)/\(Self.sqlserverJar)")
        try Self.airgap.check(["push", Self.delta, "--registry", registry.host, "--plain-http", "--chart-out", site.path])
        let jars = try FileManager.default.contentsOfDirectory(atPath: libs).filter { $0.hasSuffix(".jar") }.sorted()
        XCTAssertEqual(jars, ["flink-sql-connector-kafka-1.17.2.jar", Self.sqlserverJar])
        XCTAssertEqual(try sha256("\(libs)/\(Self.sqlserverJar)"), placed)
        let values = try String(contentsOfFile: site.file("flink-cdc/values-airgap.yaml"), encoding: .utf8)
        let lock = try Lockfile.decode(Data(contentsOf: URL(fileURLWithPath: Self.work.file("new/bundle.lock"))), path: "bundle.lock")
        XCTAssertTrue(values.contains(try XCTUnwrap(lock.images.first?.bundled?.digest).description), values)
        XCTAssertTrue(values.contains("tag: \"1.17.2\""), values)
        // The libs image was built from the checked JARs, the reused one included, and pushed.
        XCTAssertTrue(values.contains("mode: image"), values)
        let config = try Command.check("skopeo", ["inspect", "--config", "--tls-verify=false", "docker://\(registry.host)/flink-cdc-libs:1.17.2"]).stdout
        XCTAssertTrue(config.contains("FLINK_VERSION=1.17.2"), config)
    }

    func testChartDirFromADeltaRefusesAJarTheBaseDidNotPlaceOrThatChanged() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        try Self.airgap.check(["push", Self.oldBundle, "--registry", registry.host, "--plain-http"])
        let scratch = try TemporaryDirectory("chart-dir")
        let chart = try TestArtifacts.chart(in: scratch, name: "flink-cdc")
        let before = writes(registry)

        // Nothing placed: refused, naming the file and the fix, with nothing written anywhere.
        let missing = try Self.airgap.run(["push", Self.delta, "--registry", registry.host, "--plain-http", "--chart-dir", chart])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("\(chart)/files/libs/\(Self.sqlserverJar)") && missing.stderr.contains("--base"), missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertEqual(writes(registry), before, "nothing pushed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(chart)/values-airgap.yaml"))

        // Placed but altered: refused the same way.
        try FileManager.default.createDirectory(atPath: "\(chart)/files/libs", withIntermediateDirectories: true)
        try Data("not the jar".utf8).write(to: URL(fileURLWithPath: "\(chart)/files/libs/\(Self.sqlserverJar)"))
        let altered = try Self.airgap.run(["push", Self.delta, "--registry", registry.host, "--plain-http", "--chart-dir", chart])
        XCTAssertEqual(altered.status, 1)
        XCTAssertTrue(altered.stderr.contains(Self.sqlserverJar), altered.stderr)
        XCTAssertEqual(writes(registry), before, "nothing pushed")

        // With the base bundle, the JAR comes from it.
        try Self.airgap.check(["push", Self.delta, "--base", Self.oldBundle, "--registry", registry.host, "--plain-http", "--chart-dir", chart])
        let lock = try Lockfile.decode(Data(contentsOf: URL(fileURLWithPath: Self.work.file("new/bundle.lock"))), path: "bundle.lock")
        for jar in lock.jars {
            XCTAssertEqual(try sha256("\(chart)/files/libs/\(jar.coordinates.fileName)"), jar.sha256, jar.coordinates.fileName)
        }
    }
}
