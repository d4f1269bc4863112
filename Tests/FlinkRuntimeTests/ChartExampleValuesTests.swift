import AirgapTestSupport
import Foundation
import XCTest

/// The specification's own example values (charts/flink-cdc/ci/spec-*.yaml, as a user writes
/// them) each start a cluster from the pushed images, one after another. What the runtime has
/// instead of S3 is named in each test: file:// paths on the JobManager's volume.
final class ChartExampleValuesTests: XCTestCase {
    /// No S3 here; the SQL gateway JAR is not in PyPI's Flink (the chart README says so).
    static let offline = """
    sqlGateway: {enabled: false}
    bootstrap: {backoffLimit: 0}
    flinkConfiguration:
      state.checkpoints.dir: file:///opt/flink/data/checkpoints
      state.savepoints.dir: file:///opt/flink/data/savepoints
    """

    private func example(_ runtime: FlinkRuntime, _ name: String) -> String { "\(runtime.chart)/ci/\(name)" }

    func testSpecCustomValuesStartThreeTaskManagersWithTwoSlotsAndRunTheUdfJob() throws {
        let runtime = try FlinkRuntime.shared()
        let cluster = try FlinkCluster(runtime, valueFiles: [example(runtime, "spec-custom-values.yaml")], values: [Self.offline], label: "spec")
        defer { cluster.stop() }
        try cluster.waitUntilDeploymentsReady()
        try cluster.wait(for: "3 TaskManagers", timeout: 120) {
            ((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [Any])?.count == 3
        }
        let taskManagers = try XCTUnwrap((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [[String: Any]])
        XCTAssertEqual(taskManagers.map { $0["slotsNumber"] as? Int }, [2, 2, 2])
        let config = try cluster.jobManagerConfig()
        XCTAssertEqual(config["state.backend"], "rocksdb")
        XCTAssertEqual(config["s3.endpoint"], "http://minio.example.com:9000")
        // The spec's image names (registry.example.com twice, tag unquoted) gave way to the pushed image.
        XCTAssertTrue(cluster.flinkImage.hasPrefix("\(runtime.internalRegistry.host)/mirror/library/flink@sha256:"), cluster.flinkImage)
        for taskManager in taskManagers {
            let memory = try cluster.taskManagerMemory(taskManager)
            XCTAssertLessThanOrEqual(memory["totalProcessMemory"] ?? .max, 8 << 30, "fits the spec's 8Gi limit")
        }
        let job = try cluster.submit(jar: runtime.jobJar, arguments: ["bounded", "file:///tmp/spec-out"])
        try cluster.waitForJob(job, state: "FINISHED")
    }

    func testSpecMemoryTuningExampleGivesTheProcessSizesAndFractionsItNames() throws {
        let runtime = try FlinkRuntime.shared()
        let cluster = try FlinkCluster(runtime, valueFiles: [example(runtime, "spec-memory-tuning-values.yaml")], values: [Self.offline], label: "memory")
        defer { cluster.stop() }
        try cluster.waitUntilDeploymentsReady()
        let config = try cluster.jobManagerConfig()
        XCTAssertEqual(config["jobmanager.memory.process.size"], "2048m")
        XCTAssertEqual(config["taskmanager.memory.process.size"], "4096m")
        try cluster.wait(for: "a TaskManager", timeout: 120) {
            ((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [Any])?.count == 1
        }
        let taskManager = try XCTUnwrap(((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [[String: Any]])?.first)
        let memory = try cluster.taskManagerMemory(taskManager)
        XCTAssertEqual(memory["totalProcessMemory"], 4096 << 20)
        let flink = Double(try XCTUnwrap(memory["totalFlinkMemory"]))
        XCTAssertEqual(Double(try XCTUnwrap(memory["managedMemory"])) / flink, 0.4, accuracy: 0.01)
        XCTAssertEqual(Double(try XCTUnwrap(memory["networkMemory"])) / flink, 0.1, accuracy: 0.01)
    }

    /// The spec's HA example names Kubernetes HA (leader election through the API server's
    /// ConfigMaps); no API server can run here, so the same two JobManagers elect their leader
    /// through ZooKeeper (Flink's own, from the image, as a pod of the namespace) and keep the HA
    /// storage on a file:// path of a ReadWriteMany volume.
    func testSpecHaExampleRunsTwoJobManagersWithOneLeaderAndHaStorageOnAFilesystemPath() throws {
        let runtime = try FlinkRuntime.shared()
        let highAvailability = """
        jobmanager:
          resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
        taskmanager:
          resources: {limits: {cpu: "1", memory: 1Gi}, requests: {cpu: 250m, memory: 512Mi}}
        persistence: {accessModes: [ReadWriteMany]}
        flinkConfiguration:
          high-availability: zookeeper
          high-availability.zookeeper.quorum: zookeeper:2181
          high-availability.storageDir: file:///opt/flink/data/ha
        """
        let cluster = try FlinkCluster(runtime, valueFiles: [example(runtime, "spec-ha-values.yaml")], values: [Self.offline, highAvailability],
                                       objects: try ZooKeeper.objects(image: runtime.flinkImage), label: "ha")
        defer { cluster.stop() }
        try cluster.waitUntilDeploymentsReady()
        let jobManagers = cluster.pods(of: "flink-cdc-jobmanager")
        XCTAssertEqual(jobManagers.count, 2)
        XCTAssertTrue(jobManagers.allSatisfy { $0["ready"] as? Bool == true })
        let config = try cluster.jobManagerConfig()
        XCTAssertEqual(config["high-availability"], "zookeeper")
        XCTAssertEqual(config["high-availability.storageDir"], "file:///opt/flink/data/ha")
        let clusterId = try XCTUnwrap(config["high-availability.cluster-id"], "\(config)")
        // Each JobManager advertises its own pod address; the TaskManager found the leader through ZooKeeper.
        let addresses = Set(jobManagers.compactMap { $0["ip"] as? String })
        XCTAssertTrue(addresses.contains(config["jobmanager.rpc.address"] ?? "?"), "\(config["jobmanager.rpc.address"] ?? "-") in \(addresses)")
        try cluster.wait(for: "the TaskManager registered with the leader", timeout: 120) {
            ((try cluster.get("/taskmanagers") as? [String: Any])?["taskmanagers"] as? [Any])?.count == 1
        }
        let job = try cluster.submit(jar: runtime.jobJar, arguments: ["unbounded", "blackhole"])
        try cluster.waitUntilTasksRun(job)
        // While the job runs, the leader keeps what a standby needs to take it over (the job graph)
        // on the shared filesystem path; Flink removes it once the job ends.
        let storage = cluster.claim("flink-cdc-data") + "/ha/\(clusterId)"
        let kept = (try? FileManager.default.subpathsOfDirectory(atPath: storage)) ?? []
        XCTAssertTrue(kept.contains { $0.contains("submittedJobGraph") }, "job graph in the HA storage \(storage): \(kept)")
        // Under HA Flink binds the JobManager's RPC to high-availability.jobmanager.port: it must be
        // the 6123 the liveness probe and the Service use, or the kubelet restarts every JobManager.
        for ip in addresses {
            let rpc = try Command.run("bash", ["-c", "exec 3<>/dev/tcp/\(ip)/6123"])
            XCTAssertEqual(rpc.status, 0, "JobManager \(ip) answers on 6123: \(rpc.stderr)")
        }
        for pod in cluster.pods(of: "flink-cdc-jobmanager") {
            let restarts = (pod["containers"] as? [[String: Any]] ?? []).map { $0["restarts"] as? Int ?? -1 }
            XCTAssertEqual(restarts, [0], "\(pod["name"] ?? "?")\n\(cluster.report)")
        }
    }
}

/// Flink's own ZooKeeper (`bin/zookeeper.sh`, in the Flink image) as a Deployment and Service of
/// the namespace: what the HA test elects its leader through.
enum ZooKeeper {
    static func objects(image: String) throws -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: zookeeper-conf}
        data:
          zoo.cfg: |
            tickTime=2000
            initLimit=10
            syncLimit=5
            dataDir=/tmp/zookeeper
            clientPort=2181
            server.1=localhost:2888:3888
          flink-conf.yaml: ""
          log4j-console.properties: |
            rootLogger.level = INFO
            rootLogger.appenderRef.console.ref = ConsoleAppender
            appender.console.name = ConsoleAppender
            appender.console.type = CONSOLE
            appender.console.layout.type = PatternLayout
            appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: zookeeper}
        spec:
          selector: {app: zookeeper}
          ports: [{name: client, port: 2181, targetPort: 2181}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: zookeeper}
        spec:
          replicas: 1
          selector: {matchLabels: {app: zookeeper}}
          template:
            metadata: {labels: {app: zookeeper}}
            spec:
              containers:
                - name: zookeeper
                  image: \(image)
                  command: [/opt/flink/bin/zookeeper.sh, start-foreground, "1"]
                  env:
                    - {name: FLINK_CONF_DIR, value: /zookeeper-conf}
                    - {name: FLINK_LOG_DIR, value: /tmp/log}
                  ports: [{name: client, containerPort: 2181}]
                  readinessProbe: {tcpSocket: {port: client}, periodSeconds: 2}
                  securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
                  volumeMounts:
                    - {name: conf, mountPath: /zookeeper-conf}
                    - {name: tmp, mountPath: /tmp}
              volumes:
                - {name: conf, configMap: {name: zookeeper-conf}}
                - {name: tmp, emptyDir: {}}
        """
    }
}
