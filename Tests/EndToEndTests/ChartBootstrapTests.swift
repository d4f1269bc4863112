import AirgapTestSupport
import Foundation
import XCTest

/// The bootstrap Job: its script (from the rendered ConfigMap) run with bash against a scripted
/// JobManager REST API (Tests/Fixtures/fake_flink_rest.py) on loopback, on the shipped job.sql,
/// with a stand-in for sql-client.sh that prints the script it was handed (`-f FILE`, the usage of
/// Flink 1.17.1's bin/sql-client.sh). The real JobManager and SQL client run in the runtime tier.
final class ChartBootstrapTests: XCTestCase {
    private struct Setup {
        let work: TemporaryDirectory
        let script: String
        let revision: String
        var environment: [String: String]
    }

    private func setup(_ values: [String: Any] = [:], sql: String? = nil) throws -> Setup {
        let rendered = try ChartRenders.render(values)
        let data = try XCTUnwrap(rendered.object("ConfigMap", "flink-cdc-bootstrap")?["data"] as? [String: String])
        let job = try XCTUnwrap(rendered.object("Job", prefix: "flink-cdc-bootstrap-"))
        let container = RenderedChart.container(job, "bootstrap")
        let work = try TemporaryDirectory()
        _ = try work.write("sql/job.sql", sql ?? data["job.sql"]!)
        let script = try work.write("submit.sh", try XCTUnwrap(data["submit.sh"]))
        try FileManager.default.createDirectory(atPath: work.file("out"), withIntermediateDirectories: true)
        let client = try work.write("sql-client", "#!/bin/sh\n[ \"$1\" = -f ] && [ $# = 2 ] && exec cat \"$2\"\necho \"usage: -f FILE\" >&2; exit 2\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: client)
        let revision = try XCTUnwrap(RenderedChart.env(container, "JOBMANAGER_REVISION"))
        var environment = ["PATH": "/usr/bin:/bin", "JOBMANAGER_HOST": "127.0.0.1", "WAIT_SECONDS": "20",
                           "SQL_DIR": work.file("sql"), "WORK_DIR": work.file("out"), "SQL_CLIENT": client,
                           "JOBMANAGER_REVISION": revision, "JOB_NAME": try XCTUnwrap(RenderedChart.env(container, "JOB_NAME")),
                           "RESTORE_FROM_SAVEPOINT": RenderedChart.env(container, "RESTORE_FROM_SAVEPOINT") ?? ""]
        for entry in container?["env"] as? [[String: Any]] ?? [] {
            if let name = entry["name"] as? String, let value = entry["value"] as? String, environment[name] == nil { environment[name] = value }
        }
        environment["MSSQL_USERNAME"] = "cdc"
        environment["MSSQL_PASSWORD"] = "it's p&ss/w\\rd"
        return Setup(work: work, script: script, revision: revision, environment: environment)
    }

    /// Starts the scripted REST API answering with `revision` and `jobs` ("name=STATE").
    private func jobmanager(_ setup: inout Setup, revision: String, jobs: [String] = []) throws -> BackgroundProcess {
        let port = try freeLoopbackPort()
        let server = try BackgroundProcess("/usr/bin/env", ["sh", "-c", "cd \"$0\" && exec python3 \"$@\"", setup.work.path,
                                                            Paths.fixture("fake_flink_rest.py"), "\(port)", revision] + jobs,
                                           logFile: setup.work.file("rest.log"))
        try waitForPort(port)
        setup.environment["JOBMANAGER_PORT"] = "\(port)"
        return server
    }

    func testShippedJobSQLIsFilledQuotedAndHandedToTheSQLClient() throws {
        var setup = try setup()
        let server = try jobmanager(&setup, revision: setup.revision)
        defer { server.stop() }
        let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.components(separatedBy: "\n")
        XCTAssertEqual(lines.first, "SET 'pipeline.name' = 'flink-cdc-cdc';", "named so the next run finds it")
        XCTAssertTrue(run.stdout.contains("'password' = 'it''s p&ss/w\\rd'"), "a ' in the password is doubled, & and \\ stay: \(run.stdout)")
        XCTAssertTrue(run.stdout.contains("'username' = 'cdc'"))
        XCTAssertTrue(run.stdout.contains("'hostname' = 'mssql.example.com'"))
        XCTAssertTrue(run.stdout.contains("'properties.bootstrap.servers' = 'kafka-broker:9092'"))
        XCTAssertFalse(run.stdout.contains("${"), "the comment's ${VAR} is prose, dropped with the comments: \(run.stdout)")
        XCTAssertTrue(run.stdout.contains("INSERT INTO sink_table"))
        XCTAssertTrue(run.stderr.contains("without a savepoint"), run.stderr)
        let requests = try String(contentsOfFile: setup.work.file("requests.log"), encoding: .utf8)
        XCTAssertEqual(requests, "/jobmanager/config\n/jobs/overview\n")
    }

    func testSavepointIsSetBeforeTheStatementsAndQuoted() throws {
        var setup = try setup(["restoreFromSavepoint": "file:///opt/flink/data/savepoints/savepoint-1a2b"])
        let server = try jobmanager(&setup, revision: setup.revision, jobs: ["flink-cdc-cdc=CANCELED"])
        defer { server.stop() }
        let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.components(separatedBy: "\n")
        XCTAssertEqual(Array(lines.prefix(2)), ["SET 'pipeline.name' = 'flink-cdc-cdc';",
                                                "SET 'execution.savepoint.path' = 'file:///opt/flink/data/savepoints/savepoint-1a2b';"])
        XCTAssertTrue(run.stderr.contains("from savepoint file:///opt/flink/data/savepoints/savepoint-1a2b"), run.stderr)
    }

    func testNothingIsSubmittedWhileTheJobRuns() throws {
        for state in ["RUNNING", "RESTARTING", "CREATED", "INITIALIZING"] {
            var setup = try setup()
            let server = try jobmanager(&setup, revision: setup.revision, jobs: ["other-job=RUNNING", "flink-cdc-cdc=\(state)"])
            defer { server.stop() }
            let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("flink-cdc-cdc already runs") && run.stdout.contains(state), run.stdout)
            XCTAssertFalse(run.stdout.contains("INSERT"), "the SQL client was not called")
        }
    }

    func testAJobManagerOfAnotherRevisionIsNotTrusted() throws {
        var setup = try setup()
        let server = try jobmanager(&setup, revision: "0ld0ld0ld0ld", jobs: ["flink-cdc-cdc=RUNNING"])
        defer { server.stop() }
        setup.environment["WAIT_SECONDS"] = "1"
        let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("no JobManager of revision \(setup.revision) answered at 127.0.0.1"), run.stderr)
        XCTAssertFalse(run.stdout.contains("already runs"), "an old JobManager shutting down does not count")
    }

    func testPlaceholdersOutsideCommentsMustBeSet() throws {
        let sql = """
        -- ${IN_A_COMMENT} is fine
        /* so is ${THIS}
           one */
        CREATE TABLE t (a STRING) WITH ('x' = '-- ${NOT_SET}', 'y' = '${KAFKA_BROKERS}');
        """
        var setup = try setup(sql: sql)
        let server = try jobmanager(&setup, revision: setup.revision)
        defer { server.stop() }
        let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderr.components(separatedBy: "\n").first { $0.contains("job.sql uses") },
                       "bootstrap: job.sql uses ${NOT_SET} but no such environment variable is set (values.env or the secrets)",
                       "'--' inside a string literal is not a comment: \(run.stderr)")
        setup.environment["NOT_SET"] = "now set"
        let filled = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(filled.status, 0, filled.stderr)
        XCTAssertTrue(filled.stdout.contains("WITH ('x' = '-- now set', 'y' = 'kafka-broker:9092');"), filled.stdout)
    }

    func testJobSQLMayNotNameThePipelineItself() throws {
        var setup = try setup(sql: "SET 'pipeline.name' = 'mine';\nINSERT INTO a SELECT 1;")
        let server = try jobmanager(&setup, revision: setup.revision)
        defer { server.stop() }
        let run = try Command.run("/bin/bash", [setup.script], environment: setup.environment)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("job.sql sets pipeline.name"), run.stderr)
    }

    /// What makes Kubernetes replace the JobManager on `helm upgrade` is its pod template.
    func testConfigurationChangeReplacesTheJobManagerAndScalingDoesNot() throws {
        func template(_ values: [String: Any]) throws -> String {
            let deployment = try XCTUnwrap(try ChartRenders.render(values).object("Deployment", "flink-cdc-jobmanager"))
            let template = (deployment["spec"] as? [String: Any])?["template"] ?? [:]
            return String(decoding: try JSONSerialization.data(withJSONObject: template, options: .sortedKeys), as: UTF8.self)
        }
        let base = try template([:])
        XCTAssertEqual(try template(try ChartRenders.ciValues("spec-scale-taskmanagers-values.yaml")), base)
        XCTAssertNotEqual(try template(["flinkConfiguration": ["execution.checkpointing.interval": "30000"]]), base,
                          "a configuration change restarts the JobManager (checksum in its pod template)")
        XCTAssertNotEqual(try template(["taskmanager": ["slots": 4]]), base, "slots live in the shared configuration too")
    }

    /// Jobs are immutable: the bootstrap Job's name carries the hash of what its run depends on.
    func testBootstrapJobIsRenamedExactlyWhenItsRunWouldDiffer() throws {
        func name(_ values: [String: Any]) throws -> String {
            RenderedChart.name(try XCTUnwrap(try ChartRenders.render(values).object("Job", prefix: "flink-cdc-bootstrap-")))
        }
        let base = try name([:])
        XCTAssertEqual(try name(try ChartRenders.ciValues("spec-scale-taskmanagers-values.yaml")), base, "scaling TaskManagers leaves the Job alone")
        XCTAssertNotEqual(try name(["flinkConfiguration": ["execution.checkpointing.interval": "30000"]]), base, "a restarted JobManager gets a check")
        XCTAssertNotEqual(try name(["image": ["digest": "sha256:" + String(repeating: "c", count: 64)]]), base, "so does a new image")
        XCTAssertNotEqual(try name(["restoreFromSavepoint": "s3://flink-savepoints/savepoint-9"]), base)
        let jobmanager = try XCTUnwrap(try ChartRenders.render().object("Deployment", "flink-cdc-jobmanager"))
        let revision = (RenderedChart.podMetadata(jobmanager)["annotations"] as? [String: String])?["flink-cdc/revision"]
        let properties = RenderedChart.env(RenderedChart.container(jobmanager, "jobmanager"), "FLINK_PROPERTIES")
        XCTAssertEqual(properties, "chart.flink-cdc.jobmanager-revision: \(revision ?? "?")", "the JobManager reports the revision the Job waits for")
    }
}
