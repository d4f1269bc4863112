import AirgapTestSupport
import Foundation
import XCTest

/// The repository's own airgap.yaml and bundle.lock: what airgap carries for the Flink CDC chart.
final class SeedTests: XCTestCase {
    let root = Paths.repositoryRoot

    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testCommittedLockPinsTheCurrentChartAndMarksWhatNeedsAConnectedHost() throws {
        let committed = try json("\(root)/bundle.lock")
        let work = try TemporaryDirectory()
        // No network here: what airgap cannot reach stays unresolved, as in the committed lock.
        try AirgapRunner().check(["lock", "--spec", "\(root)/airgap.yaml", "--lock", work.file("now.lock"), "--allow-unresolved"])
        let now = try json(work.file("now.lock"))
        XCTAssertEqual(committed["specDigest"] as? String, now["specDigest"] as? String, "airgap.yaml changed: run `airgap lock --allow-unresolved` and commit bundle.lock")
        let chartNow = try XCTUnwrap((now["charts"] as? [[String: Any]])?.first)
        let chartCommitted = try XCTUnwrap((committed["charts"] as? [[String: Any]])?.first)
        XCTAssertEqual(chartCommitted["digest"] as? String, chartNow["digest"] as? String,
                       "charts/flink-cdc changed since bundle.lock: run `airgap lock --allow-unresolved` and commit it")
        XCTAssertEqual(chartCommitted["reference"] as? String, "charts/flink-cdc:0.1.0")
        for entry in (committed["images"] as? [[String: Any]] ?? []) + (committed["jars"] as? [[String: Any]] ?? []) {
            // Never an invented digest: a pin is there only with its evidence.
            if entry["unresolved"] == nil {
                XCTAssertNotNil(entry["bundled"], "\(entry)")
            } else {
                XCTAssertNil(entry["bundled"], "\(entry)")
                XCTAssertNil(entry["sha256"], "\(entry)")
            }
        }
    }

    func testPackRefusesTheSeedLockUntilAConnectedHostResolvesIt() throws {
        let result = try AirgapRunner().run(["pack", "--spec", "\(root)/airgap.yaml", "--output", NSTemporaryDirectory() + "seed-\(UUID()).tar"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("unresolved pin(s)") && result.stderr.contains("run `airgap lock` on a connected host"), result.stderr)
    }

    func testTheSeedSpecPacksWithLocalUpstreams() throws {
        let registry = try RegistryServer()
        let layouts = try TemporaryDirectory("layouts")
        try TestImages.build(layout: layouts.file("oci"), ref: "flink", platforms: ["linux/amd64", "linux/arm64"], layers: 2, seed: "seed")
        try TestImages.push(layout: layouts.file("oci"), ref: "flink", to: registry, repository: "library/flink:1.17.1")
        let maven = try TemporaryDirectory("maven")
        try TestArtifacts.publish(["com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2", "org.apache.flink:flink-sql-connector-kafka:1.17.1"], in: maven.path)
        let server = try StaticHTTPServer(directory: maven.path)
        let work = try TemporaryDirectory()
        let airgap = try AirgapRunner()
        try airgap.check(["pack", "--spec", "\(root)/airgap.yaml", "--lock", work.file("bundle.lock"), "--output", work.file("bundle.tar"),
                          "--mirror", "docker.io=http://\(registry.host)", "--maven-repo", server.url])
        let inspect = try airgap.check(["inspect", work.file("bundle.tar")]).stdout
        XCTAssertTrue(inspect.contains("chart  charts/flink-cdc:0.1.0"), inspect)
        XCTAssertTrue(inspect.contains("image  docker.io/library/flink:1.17.1"), inspect)
        try airgap.check(["verify", work.file("bundle.tar"), "--lock", work.file("bundle.lock")])
        let chart = try XCTUnwrap((try json(work.file("bundle.lock"))["charts"] as? [[String: Any]])?.first)
        let committed = try XCTUnwrap((try json("\(root)/bundle.lock")["charts"] as? [[String: Any]])?.first)
        XCTAssertEqual(chart["digest"] as? String, committed["digest"] as? String)
    }
}
