import AirgapTestSupport
import Foundation
import XCTest

/// Renders of charts/flink-cdc by Helm's own engine (helm-sdkpy) against a recording API server,
/// cached per value set: the engine starts for each render.
enum ChartRenders {
    static let chart = "\(Paths.repositoryRoot)/charts/flink-cdc"
    private static var cache: [String: RenderedChart] = [:]

    static func render(_ values: [String: Any] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> RenderedChart {
        let key = String(decoding: try JSONSerialization.data(withJSONObject: values, options: .sortedKeys), as: UTF8.self)
        if let cached = cache[key] { return cached }
        switch try Helm.render(chart, values: values) {
        case .success(let objects):
            cache[key] = RenderedChart(objects)
            return cache[key]!
        case .failure(let failure):
            XCTFail("render failed: \(failure.message)", file: file, line: line)
            return RenderedChart([])
        }
    }

    /// The engine's message for values that must not render; "" when they did.
    static func failure(_ values: [String: Any]) throws -> String {
        switch try Helm.render(chart, values: values) {
        case .success: return ""
        case .failure(let failure): return failure.message
        }
    }

    /// The value files of charts/flink-cdc/ci (Helm's convention; the runtime tier starts them too).
    static func ciValues(_ name: String) throws -> [String: Any] {
        try Helm.values(file: "\(chart)/ci/\(name)")
    }

    static let ciFiles: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: "\(chart)/ci")) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
}

/// The chart renders valid Kubernetes objects for every value set, lints strictly, keeps
/// restricted-v2 and credentials out of ConfigMaps, and offers what operators expect of a Flink
/// deployment (probes, grace periods, disruption budgets, scheduling knobs).
final class ChartTests: XCTestCase {
    let chart = ChartRenders.chart

    /// Value sets that between them switch on every branch of the chart, and the value files of
    /// ci/ (the specification's own examples among them).
    static func valueSets() throws -> [(String, [String: Any])] {
        var sets: [(String, [String: Any])] = [
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
            ("disruption budgets off", ["podDisruptionBudget": ["enabled": false]]),
        ]
        for file in ChartRenders.ciFiles { sets.append(("ci/\(file)", try ChartRenders.ciValues(file))) }
        return sets
    }

    func testCIValueFilesHoldTheSpecificationsExamples() throws {
        for file in ["spec-custom-values.yaml", "spec-ha-values.yaml", "spec-memory-tuning-values.yaml", "spec-scale-taskmanagers-values.yaml",
                     "ha-one-jobmanager-filesystem-values.yaml", "flink-1.20-values.yaml", "scheduling-values.yaml"] {
            XCTAssertTrue(ChartRenders.ciFiles.contains(file), file)
        }
    }

    func testStrictLintPassesOnEveryValueSet() throws {
        for (name, values) in try Self.valueSets() {
            XCTAssertNil(try Helm.lint(chart, values: values), name)
        }
    }

    func testEveryValueSetRendersValidKubernetesObjects() throws {
        for (name, values) in try Self.valueSets() {
            let rendered = try ChartRenders.render(values)
            XCTAssertFalse(rendered.objects.isEmpty, name)
            XCTAssertEqual(try Helm.validate(rendered.objects), [], name)
        }
    }

    func testEveryPodMeetsRestrictedV2WithoutPinningIDs() throws {
        for (name, values) in try Self.valueSets() {
            for workload in try ChartRenders.render(values).objects where ["Deployment", "Job"].contains(workload["kind"] as? String) {
                let pod = RenderedChart.podSpec(workload)
                let podContext = pod["securityContext"] as? [String: Any] ?? [:]
                let label = "\(name): \(workload["kind"]!)"
                for forbidden in ["runAsUser", "runAsGroup", "fsGroup"] {
                    XCTAssertNil(podContext[forbidden], "\(label) pod sets \(forbidden)")
                }
                XCTAssertEqual(podContext["runAsNonRoot"] as? Bool, true, label)
                for container in RenderedChart.containers(workload) {
                    let context = container["securityContext"] as? [String: Any] ?? [:]
                    let where_ = "\(label)/\(container["name"]!)"
                    for forbidden in ["runAsUser", "runAsGroup", "fsGroup"] { XCTAssertNil(context[forbidden], "\(where_) sets \(forbidden)") }
                    XCTAssertEqual(context["allowPrivilegeEscalation"] as? Bool, false, where_)
                    XCTAssertEqual(context["readOnlyRootFilesystem"] as? Bool, true, where_)
                    XCTAssertEqual(context["runAsNonRoot"] as? Bool, true, where_)
                    XCTAssertEqual((context["capabilities"] as? [String: Any])?["drop"] as? [String], ["ALL"], where_)
                    XCTAssertEqual((context["seccompProfile"] as? [String: Any])?["type"] as? String, "RuntimeDefault", where_)
                }
                // Everything Flink writes has an emptyDir under it on the read-only root.
                let main = (pod["containers"] as? [[String: Any]])?.first ?? [:]
                let mounts = Set((main["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String })
                XCTAssertTrue(mounts.isSuperset(of: ["/tmp", "/opt/flink/log", "/opt/flink/conf", "/opt/flink/lib", "/opt/flink/plugins"]), "\(label): \(mounts)")
            }
        }
    }

    func testCredentialsReachContainersOnlyFromSecrets() throws {
        let rendered = try ChartRenders.render(["secrets": ["mssqlCredentials": ["name": "db-login"], "s3Credentials": ["name": "minio-keys"]]])
        for configMap in rendered.all("ConfigMap") {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: configMap["data"] ?? [:]), as: UTF8.self)
            for credential in ["AWS_SECRET_ACCESS_KEY", "secret-key", "access-key", "db-login", "minio-keys"] {
                XCTAssertFalse(text.contains(credential), "ConfigMap \(RenderedChart.name(configMap)) mentions \(credential)")
            }
        }
        let sql = (rendered.object("ConfigMap", "flink-cdc-bootstrap")?["data"] as? [String: String])?["job.sql"] ?? ""
        XCTAssertTrue(sql.contains("'password' = '${MSSQL_PASSWORD}'"), "job.sql keeps its placeholder; the Job fills it at run time")
        let job = try XCTUnwrap(rendered.object("Job", prefix: "flink-cdc-bootstrap-"))
        let env = RenderedChart.container(job, "bootstrap")?["env"] as? [[String: Any]] ?? []
        let password = env.first { $0["name"] as? String == "MSSQL_PASSWORD" }
        let reference = ((password?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])
        XCTAssertEqual(reference?["name"] as? String, "db-login")
        XCTAssertTrue(try ChartRenders.failure(["flinkConfiguration": ["s3.secret-key": "hunter2"]]).contains("flinkConfiguration.s3.secret-key would put a credential into a ConfigMap"))
    }

    func testEveryComponentExistsWithItsPortsAndLabels() throws {
        let rendered = try ChartRenders.render()
        func ports(_ service: String) -> [Int] {
            ((rendered.object("Service", service)?["spec"] as? [String: Any])?["ports"] as? [[String: Any]] ?? []).compactMap { $0["port"] as? Int }
        }
        XCTAssertEqual(Set(ports("flink-cdc-jobmanager")), [8081, 6123, 6124])
        XCTAssertEqual(ports("flink-cdc-sqlgateway"), [8083])
        for service in rendered.all("Service") {
            XCTAssertEqual((service["spec"] as? [String: Any])?["type"] as? String, "ClusterIP")
        }
        for component in ["jobmanager", "taskmanager", "sqlgateway"] {
            let deployment = try XCTUnwrap(rendered.object("Deployment", "flink-cdc-\(component)"), component)
            let labels = RenderedChart.podMetadata(deployment)["labels"] as? [String: String]
            XCTAssertEqual(labels?["app.kubernetes.io/component"], component)
            // Connector JARs land in /opt/flink/lib of every Flink container.
            let main = (RenderedChart.podSpec(deployment)["containers"] as? [[String: Any]])?.first
            let mounts = (main?["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
            XCTAssertTrue(mounts.contains("/opt/flink/lib"), component)
        }
        let job = try XCTUnwrap(rendered.object("Job", prefix: "flink-cdc-bootstrap-"))
        XCTAssertEqual((RenderedChart.podMetadata(job)["labels"] as? [String: String])?["app.kubernetes.io/component"], "bootstrap",
                       "`oc logs -l app.kubernetes.io/component=bootstrap` finds it whatever its hash")
        let slots = try ChartRenders.render(["taskmanager": ["slots": 4, "replicas": 3]])
        XCTAssertEqual(try slots.flinkConfiguration().entries["taskmanager.numberOfTaskSlots"], "4")
        XCTAssertEqual((slots.object("Deployment", "flink-cdc-taskmanager")?["spec"] as? [String: Any])?["replicas"] as? Int, 3)
        let scaled = try ChartRenders.render(try ChartRenders.ciValues("spec-scale-taskmanagers-values.yaml"))
        XCTAssertEqual((scaled.object("Deployment", "flink-cdc-taskmanager")?["spec"] as? [String: Any])?["replicas"] as? Int, 5)
    }

    func testBranchesSwitchWhatTheyShould() throws {
        XCTAssertNil(try ChartRenders.render().object("Role", "flink-cdc-ha"))
        XCTAssertNil(try ChartRenders.render(["sqlGateway": ["enabled": false]]).object("Deployment", "flink-cdc-sqlgateway"))
        XCTAssertNil(try ChartRenders.render(["bootstrap": ["enabled": false]]).object("Job", prefix: "flink-cdc-bootstrap"))
        XCTAssertNil(try ChartRenders.render(["persistence": ["enabled": false]]).object("PersistentVolumeClaim", "flink-cdc-data"))

        let monitored = try ChartRenders.render(["monitoring": ["serviceMonitor": ["enabled": true, "labels": ["release": "prometheus"]]]])
        XCTAssertNotNil(monitored.object("ServiceMonitor", "flink-cdc"))
        XCTAssertEqual(try monitored.flinkConfiguration().entries["metrics.reporter.prom.factory.class"], "org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
        XCTAssertEqual(try monitored.flinkConfiguration().entries["metrics.reporter.prom.port"], "9249")
        XCTAssertNotNil(monitored.object("Service", "flink-cdc-taskmanager-metrics"))

        let restored = try ChartRenders.render(["restoreFromSavepoint": "s3://flink-savepoints/savepoint-1a2b3c"])
        let job = try XCTUnwrap(restored.object("Job", prefix: "flink-cdc-bootstrap-"))
        XCTAssertEqual(RenderedChart.env(RenderedChart.container(job, "bootstrap"), "RESTORE_FROM_SAVEPOINT"), "s3://flink-savepoints/savepoint-1a2b3c")
        XCTAssertNotNil(try ChartRenders.render(["route": ["enabled": true, "host": "flink.apps.example.com"]]).object("Route", "flink-cdc-jobmanager"))
    }

    func testBadValuesFailWithTheMessageAUserNeeds() throws {
        XCTAssertTrue(try ChartRenders.failure(["jobmanager": ["replicas": 2]]).contains("needs flinkConfiguration.\"high-availability.storageDir\""))
        let zero = try ChartRenders.failure(["jobmanager": ["replicas": 0]])
        XCTAssertTrue(zero.contains("jobmanager") && zero.contains("replicas") && zero.contains("minimum"), zero)
        let noSecret = try ChartRenders.failure(["secrets": ["mssqlCredentials": ["name": ""]]])
        XCTAssertTrue(noSecret.contains("mssqlCredentials") && noSecret.contains("name"), noSecret)
        let typo = try ChartRenders.failure(["taskmanger": ["replicas": 2]])
        XCTAssertTrue(typo.contains("taskmanger"), "an unknown key is named: \(typo)")
        XCTAssertTrue(try ChartRenders.failure(["libs": ["mode": "pvc"]]).contains("libs.mode=pvc needs libs.pvc.claimName"))
        XCTAssertTrue(try ChartRenders.failure(["flinkConfiguration": ["taskmanager.numberOfTaskSlots": "4"]]).contains("set taskmanager.slots"))
        XCTAssertTrue(try ChartRenders.failure(["env": [["name": "JOB_MANAGER_RPC_ADDRESS", "value": "x"]]]).contains("env JOB_MANAGER_RPC_ADDRESS is set by the chart"))
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

    func testEveryFlinkPodHasProbesAndAGracePeriod() throws {
        let rendered = try ChartRenders.render()
        let expected: [(String, String, Int)] = [("jobmanager", "rpc", 60), ("taskmanager", "rpc", 60), ("sqlgateway", "rest", 30)]
        for (component, livenessPort, grace) in expected {
            let deployment = try XCTUnwrap(rendered.object("Deployment", "flink-cdc-\(component)"))
            let main = try XCTUnwrap(RenderedChart.container(deployment, component))
            XCTAssertNotNil(main["readinessProbe"], component)
            XCTAssertEqual(((main["livenessProbe"] as? [String: Any])?["tcpSocket"] as? [String: Any])?["port"] as? String, livenessPort, component)
            XCTAssertEqual(RenderedChart.podSpec(deployment)["terminationGracePeriodSeconds"] as? Int, grace, component)
        }
        let jobmanager = try XCTUnwrap(RenderedChart.container(try XCTUnwrap(rendered.object("Deployment", "flink-cdc-jobmanager")), "jobmanager"))
        let readiness = (jobmanager["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
        XCTAssertEqual(readiness?["path"] as? String, "/config", "ready when the REST API answers")
        XCTAssertEqual(readiness?["port"] as? String, "ui")
    }

    func testDisruptionBudgetsNeverBlockASingleJobManagersNode() throws {
        let single = try ChartRenders.render()
        XCTAssertEqual((single.object("PodDisruptionBudget", "flink-cdc-taskmanager")?["spec"] as? [String: Any])?["maxUnavailable"] as? Int, 1)
        XCTAssertNil(single.object("PodDisruptionBudget", "flink-cdc-jobmanager"), "a budget on one JobManager would block every drain")
        let standby = try ChartRenders.render(try ChartRenders.ciValues("spec-ha-values.yaml"))
        XCTAssertEqual((standby.object("PodDisruptionBudget", "flink-cdc-jobmanager")?["spec"] as? [String: Any])?["maxUnavailable"] as? Int, 1)
        XCTAssertTrue(try ChartRenders.render(["podDisruptionBudget": ["enabled": false]]).all("PodDisruptionBudget").isEmpty)
    }

    func testSchedulingKnobsReachEachComponentsPods() throws {
        let values = try ChartRenders.ciValues("scheduling-values.yaml")
        let rendered = try ChartRenders.render(values)
        let jobmanager = try XCTUnwrap(rendered.object("Deployment", "flink-cdc-jobmanager"))
        let pod = RenderedChart.podSpec(jobmanager)
        XCTAssertEqual(pod["nodeSelector"] as? [String: String], ["node-role.kubernetes.io/flink": "true"])
        XCTAssertEqual((pod["tolerations"] as? [[String: Any]])?.first?["key"] as? String, "dedicated")
        XCTAssertNotNil((pod["affinity"] as? [String: Any])?["podAntiAffinity"])
        XCTAssertEqual(pod["terminationGracePeriodSeconds"] as? Int, 90)
        let metadata = RenderedChart.podMetadata(jobmanager)
        XCTAssertEqual((metadata["annotations"] as? [String: String])?["example.com/owner"], "data-platform")
        XCTAssertNotNil((metadata["annotations"] as? [String: String])?["checksum/config"], "the chart's own annotations stay")
        XCTAssertEqual((metadata["labels"] as? [String: String])?["team"], "cdc")
        XCTAssertEqual((metadata["labels"] as? [String: String])?["app.kubernetes.io/component"], "jobmanager")
        let bootstrap = try XCTUnwrap(rendered.object("Job", prefix: "flink-cdc-bootstrap-"))
        XCTAssertEqual(RenderedChart.podSpec(bootstrap)["nodeSelector"] as? [String: String], ["node-role.kubernetes.io/flink": "true"])
        XCTAssertNil(RenderedChart.podSpec(try XCTUnwrap(try ChartRenders.render().object("Deployment", "flink-cdc-jobmanager")))["nodeSelector"])
        // A user label cannot steal the selector.
        let hijack = try ChartRenders.render(["taskmanager": ["podLabels": ["app.kubernetes.io/component": "jobmanager"]]])
        let labels = RenderedChart.podMetadata(try XCTUnwrap(hijack.object("Deployment", "flink-cdc-taskmanager")))["labels"] as? [String: String]
        XCTAssertEqual(labels?["app.kubernetes.io/component"], "taskmanager")
    }
}
