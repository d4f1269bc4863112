import AirgapTestSupport
import Foundation
import XCTest

/// The chart, pushed by `airgap push` with its libs image, started on podman + runc as
/// OpenShift's restricted-v2 runs it (random UID, GID 0, read-only root): a real Flink 1.17.1
/// cluster that takes a Table API job calling a UDF carried in files/libs.
final class FlinkClusterFromPushedImagesTests: XCTestCase {
    static let taskManagers = 2, slots = 3

    /// Small JVMs for 2 shared cores; state on the JobManager's volume (the PVC), no S3.
    static let values = """
    sqlGateway: {enabled: false}
    jobmanager:
      resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
    taskmanager:
      replicas: \(taskManagers)
      slots: \(slots)
      resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
    bootstrap:
      backoffLimit: 0
      resources: {limits: {cpu: 500m, memory: 512Mi}, requests: {cpu: 100m, memory: 256Mi}}
    flinkConfiguration:
      state.backend: hashmap
      state.checkpoints.dir: file:///opt/flink/data/checkpoints
      state.savepoints.dir: file:///opt/flink/data/savepoints
      execution.checkpointing.interval: "10000"
      heartbeat.timeout: "1000000"
      akka.ask.timeout: "20 s"
      env.java.opts.all: -XX:+UseSerialGC -Xss512k
    env:
      - name: MSSQL_SERVER
        value: mssql.internal.example
      - name: MSSQL_PORT
        value: "1433"
      - name: MSSQL_DATABASE
        value: cdc_db
      - name: KAFKA_BROKERS
        value: kafka-0.kafka:9092
    """

    private static var started: Result<FlinkCluster, Error>?

    private func cluster() throws -> FlinkCluster {
        let runtime = try FlinkRuntime.shared()
        if Self.started == nil {
            Self.started = Result {
                let cluster = try FlinkCluster(runtime, values: [Self.values], label: "pushed")
                try cluster.waitUntilDeploymentsReady()
                return cluster
            }
        }
        return try Self.started!.get()
    }

    override class func tearDown() {
        if case .success(let cluster) = started { cluster.stop() }
        started = nil
        super.tearDown()
    }

    func testJobManagerBecomesReadyFromImagesPulledFromTheInternalRegistryAsARandomUID() throws {
        let cluster = try cluster()
        let runtime = cluster.runtime
        let images = try XCTUnwrap(cluster.state["images"] as? [String: String])
        XCTAssertFalse(images.isEmpty)
        let log = runtime.internalRegistry.accessLog()
        for (image, outcome) in images {
            XCTAssertTrue(image.hasPrefix("\(runtime.internalRegistry.host)/mirror/"), "\(image) comes from the internal registry")
            XCTAssertTrue(image.contains("@sha256:"), "\(image) is pinned by the digest airgap push wrote")
            // Pulled now, or already by an earlier cluster of this run (podman's storage is shared): either way from there.
            XCTAssertTrue(outcome.hasPrefix("pulled") || outcome == "present", "\(image): \(outcome)")
            let digest = image.split(separator: "@").last.map(String.init) ?? "?"
            XCTAssertTrue(log.contains("manifests/\(digest)"), "the internal registry served \(digest)")
        }
        XCTAssertTrue(images.keys.contains { $0.contains("/flink-cdc-libs@") }, "the libs image is pulled: \(images.keys)")
        XCTAssertTrue(log.contains("\(FlinkRuntime.user)"), "pulls authenticated as the deployer")

        let uid = try XCTUnwrap(cluster.state["uid"] as? Int)
        XCTAssertGreaterThanOrEqual(uid, 1_000_600_000)
        // What Flink created in the JobManager's /tmp emptyDir (blob store, web uploads): owned by
        // the random UID and GID 0.
        let jobManager = try XCTUnwrap(cluster.pods(of: "flink-cdc-jobmanager").first?["name"] as? String)
        let temporary = cluster.volume(pod: jobManager, name: "tmp")
        let files = try FileManager.default.contentsOfDirectory(atPath: temporary)
        XCTAssertFalse(files.isEmpty, "the JobManager writes under /tmp")
        for file in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(temporary)/\(file)")
            XCTAssertEqual(attributes[.ownerAccountID] as? Int, uid, file)
            XCTAssertEqual(attributes[.groupOwnerAccountID] as? Int, 0, file)
        }
        let overview = try XCTUnwrap(try cluster.get("/overview") as? [String: Any])
        XCTAssertEqual(overview["flink-version"] as? String, "1.17.1")
        for pod in cluster.pods where (pod["kind"] as? String) == "Deployment" {
            for container in pod["containers"] as? [[String: Any]] ?? [] {
                XCTAssertEqual(container["restarts"] as? Int, 0, "\(pod["name"] ?? "?")/\(container["name"] ?? "?") never restarted\n\(cluster.report)")
            }
        }
    }

    func testConfiguredNumberOfTaskManagersRegisterWithTheConfiguredSlots() throws {
        let cluster = try cluster()
        try cluster.wait(for: "\(Self.taskManagers) TaskManagers registered", timeout: 120) {
            ((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [Any])?.count == Self.taskManagers
        }
        let taskManagers = try XCTUnwrap((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [[String: Any]])
        XCTAssertEqual(taskManagers.map { $0["slotsNumber"] as? Int }, Array(repeating: Self.slots, count: Self.taskManagers))
        let addresses = Set(cluster.pods(of: "flink-cdc-taskmanager").compactMap { $0["ip"] as? String })
        for taskManager in taskManagers {
            // Each TaskManager registered from its own pod's address, not from the JobManager's or a hostname.
            let path = taskManager["path"] as? String ?? ""
            XCTAssertTrue(addresses.contains { path.contains("@\($0):") }, "\(path) is one of the TaskManager pods \(addresses)")
        }
        let overview = try XCTUnwrap(try cluster.get("/overview") as? [String: Any])
        XCTAssertEqual(overview["taskmanagers"] as? Int, Self.taskManagers)
        XCTAssertEqual(overview["slots-total"] as? Int, Self.taskManagers * Self.slots)
    }

    func testJobManagerConfigShowsTheValuesAsFlinkParsedThem() throws {
        let cluster = try cluster()
        let entries = try XCTUnwrap(try cluster.get("/jobmanager/config") as? [[String: String]])
        let config = Dictionary(entries.map { ($0["key"] ?? "", $0["value"] ?? "") }, uniquingKeysWith: { $1 })
        XCTAssertEqual(config["taskmanager.numberOfTaskSlots"], "\(Self.slots)")
        XCTAssertEqual(config["jobmanager.rpc.address"], "flink-cdc-jobmanager", "the Service, not the pod's hostname")
        XCTAssertEqual(config["state.savepoints.dir"], "file:///opt/flink/data/savepoints")
        XCTAssertEqual(config["execution.checkpointing.interval"], "10000")
        XCTAssertEqual(config["heartbeat.timeout"], "1000000", "a large number stays a plain integer")
        XCTAssertEqual(config["akka.ask.timeout"], "20 s")
        XCTAssertEqual(config["env.java.opts.all"], "-XX:+UseSerialGC -Xss512k")
        for (key, value) in config {
            XCTAssertFalse(value.hasPrefix("\"") || value.hasPrefix("'"), "\(key) is kept with quotes: \(value)")
        }
        // Process memory derived from the container limit: Flink's whole process fits in 1Gi.
        let jobManagerMemory = try XCTUnwrap(config["jobmanager.memory.process.size"], "\(config)")
        XCTAssertLessThanOrEqual(try bytes(jobManagerMemory), 1 << 30, jobManagerMemory)
        let taskManagers = try XCTUnwrap((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [[String: Any]])
        for taskManager in taskManagers {
            let id = try XCTUnwrap(taskManager["id"] as? String)
            let details = try XCTUnwrap(try cluster.get("/taskmanagers/\(id)") as? [String: Any])
            let memory = try XCTUnwrap(details["memoryConfiguration"] as? [String: Any], "\(details)")
            let total = try XCTUnwrap(memory["totalProcessMemory"] as? Int)
            XCTAssertGreaterThan(total, 256 << 20)
            XCTAssertLessThanOrEqual(total, 1 << 30, "the TaskManager's process memory fits its 1Gi limit")
        }
    }

    func testUdfJarFromFilesLibsIsOnTheJobManagerAndTaskManagerClasspath() throws {
        let cluster = try cluster()
        let runtime = cluster.runtime
        // airgap push wrote the locked JAR into files/libs; it is the UDF the test compiled.
        let shipped = try Data(contentsOf: URL(fileURLWithPath: "\(runtime.chart)/files/libs/airgap-udf-1.0.0.jar"))
        XCTAssertEqual(shipped, try Data(contentsOf: URL(fileURLWithPath: runtime.udfJar)))

        let environment = try XCTUnwrap(try cluster.get("/jobmanager/environment") as? [String: Any])
        let classpath = try XCTUnwrap(environment["classpath"] as? [String], "\(environment)")
        XCTAssertTrue(classpath.contains { $0.hasSuffix("/opt/flink/lib/airgap-udf-1.0.0.jar") }, "JobManager classpath: \(classpath)")

        let taskManagers = try XCTUnwrap((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [[String: Any]])
        XCTAssertEqual(taskManagers.count, FlinkClusterFromPushedImagesTests.taskManagers)
        for taskManager in taskManagers {
            let id = try XCTUnwrap(taskManager["id"] as? String)
            // The official image logs to the console only (no log file for /taskmanagers/:id/log):
            // the TaskManager container's output, found by the pod address it registered from.
            let path = taskManager["path"] as? String ?? ""
            let pod = try XCTUnwrap(cluster.pods(of: "flink-cdc-taskmanager").first { path.contains("@\($0["ip"] as? String ?? "?"):") }?["name"] as? String, path)
            let log = try cluster.containerLog(pod: pod, container: "taskmanager")
            let line = try XCTUnwrap(log.split(separator: "\n").first { $0.contains("Classpath:") }, "TaskManager \(id) logs its classpath")
            XCTAssertTrue(line.contains("/opt/flink/lib/airgap-udf-1.0.0.jar"), "TaskManager \(id): \(line.prefix(400))")
        }
    }

    func testTableApiJobCallingTheUdfReachesFinishedAndWritesJson() throws {
        let cluster = try cluster()
        let output = "airgap-out-\(UUID().uuidString.prefix(8))"
        let job = try cluster.submit(jar: cluster.runtime.jobJar, arguments: ["bounded", "file:///tmp/\(output)"])
        try cluster.waitForJob(job, state: "FINISHED")

        // The TaskManager wrote into its /tmp emptyDir: 100 rows, every name through SHOUT().
        var rows: [[String: Any]] = []
        for pod in cluster.pods(of: "flink-cdc-taskmanager") {
            let directory = cluster.volume(pod: pod["name"] as! String, name: "tmp") + "/\(output)"
            guard let files = FileManager.default.enumerator(atPath: directory) else { continue }
            for case let file as String in files where !file.hasPrefix(".") && !file.contains("/.") {
                let text = (try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? ""
                rows += text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
        }
        XCTAssertEqual(rows.count, 100, "rows the job wrote")
        for row in rows {
            let name = row["name"] as? String ?? ""
            XCTAssertTrue(name.hasSuffix("!") && name == name.uppercased(), "SHOUT() ran on \(row)")
        }
    }

    func testBootstrapJobFillsTheShippedSqlAndHandsItToTheSqlClient() throws {
        let cluster = try cluster()
        let pod = try cluster.waitForBootstrap()
        let name = try XCTUnwrap(pod["name"] as? String)
        // The filled job.sql, where submit.sh wrote it (the Job's memory-backed emptyDir).
        let filled = try String(contentsOfFile: cluster.volume(pod: name, name: "work") + "/job.sql", encoding: .utf8)
        let shipped = try String(contentsOfFile: "\(cluster.runtime.chart)/files/sql/job.sql", encoding: .utf8)
        XCTAssertTrue(shipped.contains("${MSSQL_PASSWORD}"))
        XCTAssertFalse(filled.contains("${"), "every placeholder filled:\n\(filled)")
        XCTAssertTrue(filled.contains("'hostname' = 'mssql.internal.example'"), filled)
        XCTAssertTrue(filled.contains("'port' = '1433'"), filled)
        XCTAssertTrue(filled.contains("'username' = 'cdc_reader'"), filled)
        XCTAssertTrue(filled.contains("'password' = 'it''s a p&ss/word'"), "a ' in the secret is doubled inside the SQL literal:\n\(filled)")
        XCTAssertTrue(filled.contains("'properties.bootstrap.servers' = 'kafka-0.kafka:9092'"), filled)
        XCTAssertTrue(filled.contains("INSERT INTO"), filled)
        XCTAssertFalse(filled.contains("execution.savepoint.path"), "no savepoint asked for")

        // The handoff: submit.sh ends in `sql-client.sh -f FILE`; PyPI's Flink has no SQL gateway
        // JAR, so the client stops at the gateway's class, after it was started with that file.
        let log = try cluster.containerLog(pod: name, container: "bootstrap")
        XCTAssertTrue(log.contains("org/apache/flink/table/gateway/service/context/DefaultContext"), log)
        XCTAssertTrue(log.contains("bootstrap: submitting"), log)
        try cluster.assertSqlClientAccepts(optionsOf: "submit.sh")
    }

    private func bytes(_ size: String) throws -> Int {
        let units: [String: Int] = ["b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30]
        let trimmed = size.lowercased().replacingOccurrences(of: " ", with: "")
        let digits = trimmed.prefix { $0.isNumber }
        let unit = String(trimmed.dropFirst(digits.count))
        return try XCTUnwrap(Int(digits)) * (try XCTUnwrap(units[unit.isEmpty ? "b" : unit], size))
    }
}
