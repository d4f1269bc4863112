import AirgapTestSupport
import Foundation
import XCTest

/// charts/flink-cdc, rendered by Helm's own engine (helm-sdkpy) against a recording API server,
/// linted strictly, and checked with kubernetes-validate.
final class ChartTests: XCTestCase {
    let chart = "\(Paths.repositoryRoot)/charts/flink-cdc"

    /// Value sets that between them switch on every branch of the chart.
    static let valueSets: [(String, [String: Any])] = [
        ("defaults", [:]),
        ("ha", ["jobmanager": ["replicas": 2], "flinkConfiguration": ["high-availability.storageDir": "s3://flink-ha/"]]),
        ("sqlGateway off", ["sqlGateway": ["enabled": false]]),
        ("bootstrap off", ["bootstrap": ["enabled": false]]),
        ("serviceMonitor on", ["monitoring": ["serviceMonitor": ["enabled": true, "labels": ["release": "prometheus"]]]]),
        ("persistence off", ["persistence": ["enabled": false]]),
        ("restoreFromSavepoint", ["restoreFromSavepoint": "s3://flink-savepoints/savepoint-1a2b3c"]),
        ("route on", ["route": ["enabled": true, "host": "flink.apps.example.com"]]),
        ("libs from a ConfigMap", ["libs": ["mode": "configMap"]]),
        ("libs from a PVC", ["libs": ["mode": "pvc", "pvc": ["claimName": "connector-jars"]]]),
        ("internal registry by digest", ["global": ["imageRegistry": "registry.internal:5000"],
                                         "image": ["repository": "library/flink", "digest": "sha256:" + String(repeating: "a", count: 64)]]),
    ]

    /// Renders are slow (Helm's engine starts each time): each value set is rendered once.
    private static var rendered: [String: [[String: Any]]] = [:]

    private func render(_ values: [String: Any] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        let key = String(decoding: try JSONSerialization.data(withJSONObject: values, options: .sortedKeys), as: UTF8.self)
        if let cached = Self.rendered[key] { return cached }
        switch try Helm.render(chart, values: values) {
        case .success(let objects):
            Self.rendered[key] = objects
            return objects
        case .failure(let failure):
            XCTFail("render failed: \(failure.message)", file: file, line: line)
            return []
        }
    }

    private func failure(_ values: [String: Any]) throws -> String {
        switch try Helm.render(chart, values: values) {
        case .success: return ""
        case .failure(let failure): return failure.message
        }
    }

    private func object(_ objects: [[String: Any]], _ kind: String, _ name: String) -> [String: Any]? {
        objects.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
    }

    private func podSpec(_ workload: [String: Any]) -> [String: Any] {
        (((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
    }

    private func containers(_ pod: [String: Any]) -> [[String: Any]] {
        (pod["initContainers"] as? [[String: Any]] ?? []) + (pod["containers"] as? [[String: Any]] ?? [])
    }

    private func flinkConf(_ objects: [[String: Any]]) -> String {
        ((object(objects, "ConfigMap", "flink-cdc-config")?["data"] as? [String: String])?["flink-conf.yaml"]) ?? ""
    }

    func testStrictLintPassesOnEveryValueSet() throws {
        for (name, values) in Self.valueSets {
            XCTAssertNil(try Helm.lint(chart, values: values), name)
        }
    }

    func testEveryValueSetRendersValidKubernetesObjects() throws {
        for (name, values) in Self.valueSets {
            let objects = try render(values)
            XCTAssertFalse(objects.isEmpty, name)
            XCTAssertEqual(try Helm.validate(objects), [], name)
        }
    }

    func testEveryPodMeetsRestrictedV2WithoutPinningIDs() throws {
        for (name, values) in Self.valueSets {
            for workload in try render(values) where ["Deployment", "Job"].contains(workload["kind"] as? String) {
                let pod = podSpec(workload)
                let podContext = pod["securityContext"] as? [String: Any] ?? [:]
                let label = "\(name): \(workload["kind"]!)"
                for forbidden in ["runAsUser", "runAsGroup", "fsGroup"] {
                    XCTAssertNil(podContext[forbidden], "\(label) pod sets \(forbidden)")
                }
                XCTAssertEqual(podContext["runAsNonRoot"] as? Bool, true, label)
                for container in containers(pod) {
                    let context = container["securityContext"] as? [String: Any] ?? [:]
                    let where_ = "\(label)/\(container["name"]!)"
                    for forbidden in ["runAsUser", "runAsGroup", "fsGroup"] { XCTAssertNil(context[forbidden], "\(where_) sets \(forbidden)") }
                    XCTAssertEqual(context["allowPrivilegeEscalation"] as? Bool, false, where_)
                    XCTAssertEqual(context["readOnlyRootFilesystem"] as? Bool, true, where_)
                    XCTAssertEqual(context["runAsNonRoot"] as? Bool, true, where_)
                    XCTAssertEqual((context["capabilities"] as? [String: Any])?["drop"] as? [String], ["ALL"], where_)
                    XCTAssertEqual((context["seccompProfile"] as? [String: Any])?["type"] as? String, "RuntimeDefault", where_)
                }
            }
        }
    }

    func testCredentialsReachContainersOnlyFromSecrets() throws {
        let objects = try render(["secrets": ["mssqlCredentials": ["name": "db-login"], "s3Credentials": ["name": "minio-keys"]]])
        for configMap in objects where configMap["kind"] as? String == "ConfigMap" {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: configMap["data"] ?? [:]), as: UTF8.self)
            for credential in ["AWS_SECRET_ACCESS_KEY", "secret-key", "access-key", "db-login", "minio-keys"] {
                XCTAssertFalse(text.contains(credential), "ConfigMap \((configMap["metadata"] as? [String: Any])?["name"] ?? "") mentions \(credential)")
            }
        }
        let sql = (object(objects, "ConfigMap", "flink-cdc-bootstrap")?["data"] as? [String: String])?["job.sql"] ?? ""
        XCTAssertTrue(sql.contains("'password' = '${MSSQL_PASSWORD}'"), "job.sql keeps its placeholder; the Job fills it at run time")
        let job = try XCTUnwrap(object(objects, "Job", "flink-cdc-bootstrap"))
        let env = containers(podSpec(job)).first { $0["name"] as? String == "bootstrap" }?["env"] as? [[String: Any]] ?? []
        let password = env.first { $0["name"] as? String == "MSSQL_PASSWORD" }
        let reference = ((password?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])
        XCTAssertEqual(reference?["name"] as? String, "db-login")
        XCTAssertEqual(try failure(["flinkConfiguration": ["s3.secret-key": "hunter2"]]).contains("flinkConfiguration.s3.secret-key would put a credential into a ConfigMap"), true)
    }

    func testEveryComponentExistsWithItsPortsAndLabels() throws {
        let objects = try render()
        func ports(_ service: String) -> [Int] {
            ((object(objects, "Service", service)?["spec"] as? [String: Any])?["ports"] as? [[String: Any]] ?? []).compactMap { $0["port"] as? Int }
        }
        XCTAssertEqual(Set(ports("flink-cdc-jobmanager")), [8081, 6123, 6124])
        XCTAssertEqual(ports("flink-cdc-sqlgateway"), [8083])
        for service in objects where service["kind"] as? String == "Service" {
            XCTAssertEqual((service["spec"] as? [String: Any])?["type"] as? String, "ClusterIP")
        }
        for component in ["jobmanager", "taskmanager", "sqlgateway"] {
            let deployment = try XCTUnwrap(object(objects, "Deployment", "flink-cdc-\(component)"), component)
            let labels = ((deployment["spec"] as? [String: Any])?["template"] as? [String: Any]).flatMap { ($0["metadata"] as? [String: Any])?["labels"] as? [String: String] }
            XCTAssertEqual(labels?["app.kubernetes.io/component"], component)
            // Connector JARs land in /opt/flink/lib of every Flink container.
            let main = (podSpec(deployment)["containers"] as? [[String: Any]])?.first
            let mounts = (main?["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
            XCTAssertTrue(mounts.contains("/opt/flink/lib"), component)
        }
        XCTAssertNotNil(object(objects, "Job", "flink-cdc-bootstrap"), "named so `oc logs -l job-name=flink-cdc-bootstrap` works")
        XCTAssertNotNil(object(objects, "PersistentVolumeClaim", "flink-cdc-data"))
        XCTAssertTrue(flinkConf(objects).contains("taskmanager.numberOfTaskSlots: \"2\""), flinkConf(objects))
        XCTAssertTrue(flinkConf(objects).contains("state.backend: \"rocksdb\""))
        let slots = try render(["taskmanager": ["slots": 4, "replicas": 3]])
        XCTAssertTrue(flinkConf(slots).contains("taskmanager.numberOfTaskSlots: \"4\""))
        XCTAssertEqual((object(slots, "Deployment", "flink-cdc-taskmanager")?["spec"] as? [String: Any])?["replicas"] as? Int, 3)
    }

    func testBranchesSwitchWhatTheyShould() throws {
        let ha = try render(Self.valueSets[1].1)
        XCTAssertNotNil(object(ha, "Role", "flink-cdc-ha"))
        XCTAssertNotNil(object(ha, "RoleBinding", "flink-cdc-ha"))
        XCTAssertTrue(flinkConf(ha).contains("KubernetesHaServicesFactory"))
        XCTAssertNil(object(try render(), "Role", "flink-cdc-ha"))

        XCTAssertNil(object(try render(["sqlGateway": ["enabled": false]]), "Deployment", "flink-cdc-sqlgateway"))
        XCTAssertNil(object(try render(["bootstrap": ["enabled": false]]), "Job", "flink-cdc-bootstrap"))
        XCTAssertNil(object(try render(["persistence": ["enabled": false]]), "PersistentVolumeClaim", "flink-cdc-data"))

        let monitored = try render(Self.valueSets[4].1)
        XCTAssertNotNil(object(monitored, "ServiceMonitor", "flink-cdc"))
        XCTAssertTrue(flinkConf(monitored).contains("metrics.reporter.prom.factory.class"))
        XCTAssertNotNil(object(monitored, "Service", "flink-cdc-taskmanager-metrics"))

        let restored = try render(Self.valueSets[6].1)
        let env = containers(podSpec(try XCTUnwrap(object(restored, "Job", "flink-cdc-bootstrap")))).flatMap { $0["env"] as? [[String: Any]] ?? [] }
        XCTAssertTrue(env.contains { $0["name"] as? String == "RESTORE_FROM_SAVEPOINT" && $0["value"] as? String == "s3://flink-savepoints/savepoint-1a2b3c" })

        let pinned = try render(Self.valueSets[10].1)
        let image = (podSpec(try XCTUnwrap(object(pinned, "Deployment", "flink-cdc-jobmanager")))["containers"] as? [[String: Any]])?.first?["image"] as? String
        XCTAssertEqual(image, "registry.internal:5000/library/flink@sha256:" + String(repeating: "a", count: 64))
        XCTAssertNotNil(object(try render(Self.valueSets[7].1), "Route", "flink-cdc-jobmanager"))
    }

    func testBadValuesFailWithTheMessageAUserNeeds() throws {
        XCTAssertTrue(try failure(["jobmanager": ["replicas": 2]]).contains("needs flinkConfiguration.\"high-availability.storageDir\""))
        let zero = try failure(["jobmanager": ["replicas": 0]])
        XCTAssertTrue(zero.contains("jobmanager") && zero.contains("replicas") && zero.contains("minimum"), zero)
        let noSecret = try failure(["secrets": ["mssqlCredentials": ["name": ""]]])
        XCTAssertTrue(noSecret.contains("mssqlCredentials") && noSecret.contains("name"), noSecret)
        let typo = try failure(["taskmanger": ["replicas": 2]])
        XCTAssertTrue(typo.contains("taskmanger"), "an unknown key is named: \(typo)")
        XCTAssertTrue(try failure(["libs": ["mode": "pvc"]]).contains("libs.mode=pvc needs libs.pvc.claimName"))
    }

    func testTooManyConnectorBytesForAConfigMapFailTheRender() throws {
        let work = try TemporaryDirectory()
        let copy = work.file("flink-cdc")
        try FileManager.default.copyItem(atPath: chart, toPath: copy)
        try Data(count: 2_000_000).write(to: URL(fileURLWithPath: "\(copy)/files/libs/big.jar"))
        guard case .failure(let failure) = try Helm.render(copy, values: ["libs": ["mode": "configMap"]]) else {
            return XCTFail("a 2 MB JAR cannot ride in a ConfigMap")
        }
        XCTAssertTrue(failure.message.contains("files/libs holds 2000000 bytes of JARs, more than a ConfigMap carries"), failure.message)
        guard case .success = try Helm.render(copy, values: ["libs": ["mode": "image"]]) else { return XCTFail("the libs image has no such limit") }
    }

    func testBootstrapScriptFillsPlaceholdersInMemoryAndPrependsTheSavepoint() throws {
        let objects = try render()
        let data = try XCTUnwrap(object(objects, "ConfigMap", "flink-cdc-bootstrap")?["data"] as? [String: String])
        let work = try TemporaryDirectory()
        _ = try work.write("sql/job.sql", "'u' = '${MSSQL_USERNAME}', 'p' = '${MSSQL_PASSWORD}', 'k' = '${KAFKA_BROKERS}'")
        let script = try work.write("submit.sh", try XCTUnwrap(data["submit.sh"]))
        try FileManager.default.createDirectory(atPath: work.file("out"), withIntermediateDirectories: true)
        // Stands in for sql-client.sh: prints the script it was given with -f.
        let client = try work.write("sql-client", "#!/bin/sh\n[ \"$1\" = -f ] && exec cat \"$2\"\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: client)
        let port = try freeLoopbackPort()
        let server = try BackgroundProcess("/usr/bin/python3", ["-m", "http.server", "--bind", "127.0.0.1", "\(port)"], logFile: work.file("s.log"))
        try waitForPort(port)
        var environment = ["PATH": "/usr/bin:/bin", "JOBMANAGER_HOST": "127.0.0.1", "JOBMANAGER_PORT": "\(port)", "WAIT_SECONDS": "5",
                           "SQL_DIR": work.file("sql"), "WORK_DIR": work.file("out"), "SQL_CLIENT": client,
                           "MSSQL_USERNAME": "cdc", "MSSQL_PASSWORD": "p&ss/w\\rd", "KAFKA_BROKERS": "kafka:9092",
                           "RESTORE_FROM_SAVEPOINT": "s3://sp/1"]
        let filled = try Command.run("/bin/bash", [script], environment: environment)
        XCTAssertEqual(filled.status, 0, filled.stderr)
        XCTAssertEqual(filled.stdout, "SET 'execution.savepoint.path' = 's3://sp/1';\n'u' = 'cdc', 'p' = 'p&ss/w\\rd', 'k' = 'kafka:9092'\n")

        environment["KAFKA_BROKERS"] = nil
        let missing = try Command.run("/bin/bash", [script], environment: environment)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("job.sql uses ${KAFKA_BROKERS}"), missing.stderr)
        server.stop()
    }
}
