import AirgapTestSupport
import Foundation
import XCTest

/// The upgrade path the chart's README gives: stop the CDC job with a savepoint (it lands in the
/// configured state.savepoints.dir, on the JobManager's volume), upgrade with
/// `restoreFromSavepoint`, and the next submission starts from that savepoint.
final class SavepointRestoreTests: XCTestCase {
    static let values = """
    sqlGateway: {enabled: false}
    jobmanager:
      resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
    taskmanager:
      replicas: 1
      slots: 2
      resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
    bootstrap:
      backoffLimit: 0
      resources: {limits: {cpu: 500m, memory: 512Mi}, requests: {cpu: 100m, memory: 256Mi}}
    flinkConfiguration:
      state.backend: hashmap
      state.checkpoints.dir: file:///opt/flink/data/checkpoints
      state.savepoints.dir: file:///opt/flink/data/savepoints
      execution.checkpointing.interval: "5000"
    """

    func testSavepointLandsInTheConfiguredDirectoryAndRestoreFromSavepointStartsTheNextSubmissionFromIt() throws {
        let runtime = try FlinkRuntime.shared()
        let claims = try TemporaryDirectory("claims")

        // Release 1: the job runs, then stops with a savepoint taken over REST.
        let first = try FlinkCluster(runtime, values: [Self.values], label: "savepoint", claims: claims.path)
        try first.waitUntilDeploymentsReady()
        let job = try first.submit(jar: runtime.jobJar, arguments: ["unbounded", "blackhole"])
        try first.waitUntilTasksRun(job)
        let trigger = try XCTUnwrap(try first.post("/jobs/\(job)/stop", json: ["drain": false])["request-id"] as? String)
        var location = ""
        try first.wait(for: "the savepoint of \(job)", timeout: 120) {
            let status = try XCTUnwrap(try first.get("/jobs/\(job)/savepoints/\(trigger)") as? [String: Any])
            guard (status["status"] as? [String: Any])?["id"] as? String == "COMPLETED" else { return false }
            let operation = status["operation"] as? [String: Any] ?? [:]
            if let failure = operation["failure-cause"] { throw Fatal(message: "savepoint failed: \(failure)") }
            location = operation["location"] as? String ?? ""
            return true
        }
        try first.waitForJob(job, state: "FINISHED")
        XCTAssertTrue(location.hasPrefix("file:/opt/flink/data/savepoints/savepoint-"), location)
        // On the volume behind the JobManager's PVC, written as the random UID with GID 0.
        let claim = first.claim("flink-cdc-data")
        let onVolume = "\(claim)/savepoints/\(location.split(separator: "/").last ?? "")/_metadata"
        XCTAssertTrue(FileManager.default.fileExists(atPath: onVolume), "\(onVolume): \(try? FileManager.default.subpathsOfDirectory(atPath: claim))")
        let owner = try FileManager.default.attributesOfItem(atPath: onVolume)
        XCTAssertEqual(owner[.ownerAccountID] as? Int, first.state["uid"] as? Int)
        first.stop()

        // Release 2 (helm upgrade --set restoreFromSavepoint=...): new pods, the same volume.
        let second = try FlinkCluster(runtime, values: [Self.values, "restoreFromSavepoint: \"\(location)\"\n"], label: "restore",
                                      claims: claims.path, uid: first.state["uid"] as? Int)
        defer { second.stop() }
        try second.waitUntilDeploymentsReady()
        let bootstrap = try second.waitForBootstrap()
        let filled = try String(contentsOfFile: second.volume(pod: bootstrap["name"] as! String, name: "work") + "/job.sql", encoding: .utf8)
        let settings = Self.setStatements(filled)
        XCTAssertEqual(settings["execution.savepoint.path"], location, "the bootstrap hands the savepoint to the SQL client:\n\(filled)")

        // The submission as the SQL client makes it: the SET statements become the job's configuration.
        let restored = try second.submit(jar: runtime.jobJar, arguments: ["unbounded", "blackhole"], configuration: settings)
        try second.waitUntilTasksRun(restored)
        let details = try XCTUnwrap(try second.get("/jobs/\(restored)") as? [String: Any])
        if let name = settings["pipeline.name"] { XCTAssertEqual(details["name"] as? String, name) }
        let checkpoints = try XCTUnwrap(try second.get("/jobs/\(restored)/checkpoints") as? [String: Any])
        let restore = try XCTUnwrap((checkpoints["latest"] as? [String: Any])?["restored"] as? [String: Any], "\(checkpoints)")
        XCTAssertEqual(restore["external_path"] as? String, location)
        XCTAssertEqual(restore["is_savepoint"] as? Bool, true)
    }

    /// `SET 'key' = 'value';` lines of a SQL script, with SQL's '' unescaped.
    static func setStatements(_ sql: String) -> [String: String] {
        var settings: [String: String] = [:]
        let pattern = try! NSRegularExpression(pattern: #"^SET\s+'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'\s*;"#, options: [.anchorsMatchLines, .caseInsensitive])
        for match in pattern.matches(in: sql, range: NSRange(sql.startIndex..., in: sql)) {
            let key = String(sql[Range(match.range(at: 1), in: sql)!]).replacingOccurrences(of: "''", with: "'")
            let value = String(sql[Range(match.range(at: 2), in: sql)!]).replacingOccurrences(of: "''", with: "'")
            settings[key] = value
        }
        return settings
    }
}
