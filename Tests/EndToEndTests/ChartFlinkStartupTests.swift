import AirgapTestSupport
import Foundation
import XCTest

/// What the chart hands Flink and the Flink image, checked the way they read it: the
/// configuration file through Flink 1.17's own line rules (Tests/Fixtures/flink_conf.py), the
/// container arguments against bin/jobmanager.sh's, the init copy run as an OpenShift UID.
final class ChartFlinkStartupTests: XCTestCase {
    private func jobmanager(_ rendered: RenderedChart) throws -> [String: Any] {
        try XCTUnwrap(rendered.object("Deployment", "flink-cdc-jobmanager"))
    }

    // MARK: configuration file

    /// The reader the tests trust is Flink 1.17's: what the old chart wrote comes back as Flink
    /// took it (quotes kept, cut at '#', lines without ": " skipped).
    func testFlinkConfReaderReadsWhatFlink117Reads() throws {
        let text = "taskmanager.numberOfTaskSlots: \"2\"\ns3.endpoint: http://m:9000/#x\nno-space:1\nempty: \n  # comment\nkey: a: b\nkey: c\n"
        let conf = try FlinkConf.read(text, fileName: "flink-conf.yaml")
        XCTAssertEqual(conf.entries, ["taskmanager.numberOfTaskSlots": "\"2\"", "s3.endpoint": "http://m:9000/", "key": "c"])
        XCTAssertEqual(conf.skipped, [3, 4])
        XCTAssertEqual(try FlinkConf.read("a: a: b\n", fileName: "flink-conf.yaml").entries, ["a": "a: b"], "split at the first \": \" only")
    }

    func testFlinkConfLinesReadBackAsTheValuesGiven() throws {
        let values: [String: Any] = ["flinkConfiguration": [
            "state.backend": "rocksdb", "execution.checkpointing.interval": 1_000_000, "taskmanager.memory.managed.fraction": 0.4,
            "s3.path.style.access": true, "s3.endpoint": "http://minio.example.com:9000", "pipeline.global-job-parameters": "a:1,b:2",
        ]]
        let rendered = try ChartRenders.render(values)
        XCTAssertEqual(rendered.flinkConfigurationFile.name, "flink-conf.yaml", "Flink 1.17 reads flink-conf.yaml")
        let conf = try rendered.flinkConfiguration()
        XCTAssertEqual(conf.skipped, [], "no line Flink would skip:\n\(rendered.flinkConfigurationFile.text)")
        XCTAssertEqual(conf.entries["state.backend"], "rocksdb")
        XCTAssertEqual(conf.entries["execution.checkpointing.interval"], "1000000", "never 1e+06")
        XCTAssertEqual(conf.entries["taskmanager.memory.managed.fraction"], "0.4")
        XCTAssertEqual(conf.entries["s3.path.style.access"], "true")
        XCTAssertEqual(conf.entries["s3.endpoint"], "http://minio.example.com:9000")
        XCTAssertEqual(conf.entries["pipeline.global-job-parameters"], "a:1,b:2")
        XCTAssertEqual(conf.entries["taskmanager.numberOfTaskSlots"], "2", "a number, not \"2\" with its quotes")
        XCTAssertEqual(conf.entries["jobmanager.rpc.address"], "flink-cdc-jobmanager")
        XCTAssertEqual(conf.entries["rest.address"], "flink-cdc-jobmanager")
        for bind in ["jobmanager.bind-host", "taskmanager.bind-host", "rest.bind-address"] {
            XCTAssertEqual(conf.entries[bind], "0.0.0.0", "\(bind): the chart replaces the image's file, which the official image had set so")
        }
        for (key, value) in conf.entries {
            XCTAssertFalse(value.hasPrefix("\"") || value.hasPrefix("'"), "\(key) arrives quoted: \(value)")
        }
    }

    func testEverySpecExampleConfigurationReadsBackUnchanged() throws {
        for file in ["spec-custom-values.yaml", "spec-ha-values.yaml", "spec-memory-tuning-values.yaml", "ha-one-jobmanager-filesystem-values.yaml"] {
            let values = try ChartRenders.ciValues(file)
            let conf = try ChartRenders.render(values).flinkConfiguration()
            XCTAssertEqual(conf.skipped, [], file)
            for (key, value) in values["flinkConfiguration"] as? [String: Any] ?? [:] {
                XCTAssertEqual(conf.entries[key], "\(value)", "\(file): \(key)")
            }
        }
    }

    func testValuesFlinkWouldCutOrDropAreRefused() throws {
        let hash = try ChartRenders.failure(["flinkConfiguration": ["s3.endpoint": "http://minio:9000/#frag"]])
        XCTAssertTrue(hash.contains("flinkConfiguration.s3.endpoint contains '#'"), hash)
        let lines = try ChartRenders.failure(["flinkConfiguration": ["env.java.opts.all": "-Xss1m\n-Dx=y"]])
        XCTAssertTrue(lines.contains("flinkConfiguration.env.java.opts.all spans more than one line"), lines)
        let empty = try ChartRenders.failure(["flinkConfiguration": ["state.backend": ""]])
        XCTAssertTrue(empty.contains("flinkConfiguration.state.backend is empty"), empty)
        let variable = try ChartRenders.failure(["flinkConfiguration": ["s3.endpoint": "http://${MINIO_HOST}:9000"]])
        XCTAssertTrue(variable.contains("envsubst"), variable)
        let tiny = try ChartRenders.failure(["flinkConfiguration": ["some.ratio": 0.0000001]])
        XCTAssertTrue(tiny.contains("write it as a quoted string"), tiny)
    }

    func testFlink119AndLaterGetConfigYaml() throws {
        let rendered = try ChartRenders.render(try ChartRenders.ciValues("flink-1.20-values.yaml"))
        XCTAssertEqual(rendered.flinkConfigurationFile.name, "config.yaml", "Flink 2.x reads nothing else; 1.19/1.20 prefer it")
        let data = rendered.object("ConfigMap", "flink-cdc-config")?["data"] as? [String: String] ?? [:]
        XCTAssertNil(data["flink-conf.yaml"])
        let conf = try rendered.flinkConfiguration()
        XCTAssertEqual(conf.entries["taskmanager.numberOfTaskSlots"], "2")
        XCTAssertEqual(conf.entries["state.checkpoints.dir"], "s3://flink-checkpoints/")
        // Standard YAML quotes what flink-conf.yaml cannot carry.
        let hash = try ChartRenders.render(["image": ["tag": "1.20.0"], "flinkConfiguration": ["pipeline.name": "cdc #1"]])
        XCTAssertEqual(try hash.flinkConfiguration().entries["pipeline.name"], "cdc #1")
        XCTAssertEqual(try ChartRenders.render(["image": ["tag": "2.1.0"]]).flinkConfigurationFile.name, "config.yaml")
        XCTAssertEqual(try ChartRenders.render(["image": ["tag": "site-build-7"], "flinkVersion": "1.18.1"]).flinkConfigurationFile.name, "flink-conf.yaml")
    }

    // MARK: memory

    func testProcessMemoryComesFromTheContainerLimits() throws {
        let defaults = try ChartRenders.render().flinkConfiguration()
        XCTAssertEqual(defaults.entries["jobmanager.memory.process.size"], "4096m", "the whole 4Gi limit")
        XCTAssertEqual(defaults.entries["taskmanager.memory.process.size"], "8192m", "the whole 8Gi limit")
        let other = try ChartRenders.render(["jobmanager": ["resources": ["limits": ["memory": "3Gi"]]],
                                             "taskmanager": ["resources": ["limits": ["memory": "4G"]]]]).flinkConfiguration()
        XCTAssertEqual(other.entries["jobmanager.memory.process.size"], "3072m")
        XCTAssertEqual(other.entries["taskmanager.memory.process.size"], "3814m", "4G is decimal: 4,000,000,000 bytes")
    }

    func testExplicitProcessMemoryWinsAndMustFitTheLimit() throws {
        let tuned = try ChartRenders.render(try ChartRenders.ciValues("spec-memory-tuning-values.yaml")).flinkConfiguration()
        XCTAssertEqual(tuned.entries["jobmanager.memory.process.size"], "2048m")
        XCTAssertEqual(tuned.entries["taskmanager.memory.process.size"], "4096m")
        XCTAssertEqual(tuned.entries["taskmanager.memory.managed.fraction"], "0.4")
        let flinkSize = try ChartRenders.render(["flinkConfiguration": ["taskmanager.memory.flink.size": "2g"]]).flinkConfiguration()
        XCTAssertNil(flinkSize.entries["taskmanager.memory.process.size"], "Flink derives it from memory.flink.size")
        let tooBig = try ChartRenders.failure(["flinkConfiguration": ["jobmanager.memory.process.size": "6g"]])
        XCTAssertTrue(tooBig.contains("more than jobmanager.resources.limits.memory 4Gi"), tooBig)
        let none = try ChartRenders.failure(["taskmanager": ["resources": ["limits": ["memory": NSNull()]]]])
        XCTAssertTrue(none.contains("taskmanager has no resources.limits.memory"), none)
    }

    // MARK: images

    func testImageNamesNeverDoubleTheRegistry() throws {
        func image(_ values: [String: Any]) throws -> String? {
            RenderedChart.container(try jobmanager(try ChartRenders.render(values)), "jobmanager")?["image"] as? String
        }
        XCTAssertEqual(try image(try ChartRenders.ciValues("spec-custom-values.yaml")), "registry.example.com/flink:1.17.1")
        XCTAssertEqual(try image(["global": ["imageRegistry": "registry.example.com"], "image": ["repository": "flink"]]), "registry.example.com/flink:1.17.1")
        XCTAssertEqual(try image(["global": ["imageRegistry": "registry.internal:5000/mirror"], "image": ["repository": "registry.internal:5000/mirror/library/flink"]]),
                       "registry.internal:5000/mirror/library/flink:1.17.1")
        let digest = "sha256:" + String(repeating: "b", count: 64)
        XCTAssertEqual(try image(["global": ["imageRegistry": "registry.internal:5000"], "image": ["repository": "library/flink", "digest": digest]]),
                       "registry.internal:5000/library/flink@\(digest)")
        let elsewhere = try ChartRenders.failure(["global": ["imageRegistry": "registry.internal:5000"], "image": ["repository": "docker.io/library/flink"]])
        XCTAssertTrue(elsewhere.contains("names the registry docker.io, but global.imageRegistry is registry.internal:5000"), elsewhere)
        let libs = RenderedChart.container(try jobmanager(try ChartRenders.render(try ChartRenders.ciValues("spec-custom-values.yaml"))), "connector-libs")
        XCTAssertEqual(libs?["image"] as? String, "registry.example.com/flink-cdc-libs:1.17.1")
    }

    func testImageTagStaysTheStringWritten() throws {
        // values.schema.json refuses it before any template runs, saying what to write.
        let number = try ChartRenders.failure(["image": ["tag": 1.2]])
        XCTAssertTrue(number.contains("at '/image/tag'") && number.contains("1.20 becomes 1.2") && number.contains("tag: \"1.20\""), number)
        let libs = try ChartRenders.failure(["libs": ["image": ["tag": 1.17]]])
        XCTAssertTrue(libs.contains("at '/libs/image/tag'") && libs.contains("write it quoted"), libs)
        let quoted = try ChartRenders.render(["image": ["tag": "1.20"], "flinkVersion": "1.20.0"])
        XCTAssertEqual(RenderedChart.container(try jobmanager(quoted), "jobmanager")?["image"] as? String, "flink:1.20")
    }

    func testS3PluginFollowsTheImageTagAndThePaths() throws {
        func plugins(_ values: [String: Any]) throws -> String? {
            RenderedChart.env(RenderedChart.container(try jobmanager(try ChartRenders.render(values)), "jobmanager"), "ENABLE_BUILT_IN_PLUGINS")
        }
        XCTAssertEqual(try plugins([:]), "flink-s3-fs-presto-1.17.1.jar")
        XCTAssertEqual(try plugins(["image": ["tag": "1.17.2-scala_2.12-java11"]]), "flink-s3-fs-presto-1.17.2.jar", "the image's version, not the chart's appVersion")
        XCTAssertNil(try plugins(try ChartRenders.ciValues("ha-one-jobmanager-filesystem-values.yaml")), "no S3 path, no plugin the image may lack")
        XCTAssertNil(try plugins(["flinkConfiguration": ["state.checkpoints.dir": "file:///data/cp", "state.savepoints.dir": "file:///data/sp"]]))
        XCTAssertEqual(try plugins(["flinkConfiguration": ["state.checkpoints.dir": "s3a://cp/"]]), "flink-s3-fs-hadoop-1.17.1.jar;flink-s3-fs-presto-1.17.1.jar")
        XCTAssertEqual(try plugins(["plugins": ["s3": "hadoop"]]), "flink-s3-fs-hadoop-1.17.1.jar")
        let minorOnly = try ChartRenders.failure(["image": ["tag": "1.17"]])
        XCTAssertTrue(minorOnly.contains("needs Flink's full version"), minorOnly)
    }

    // MARK: addresses, HA, arguments

    func testEntrypointCannotRewriteTheJobManagerAddress() throws {
        let rendered = try ChartRenders.render()
        var seen = 0
        for workload in rendered.all("Deployment") + rendered.all("Job") {
            for container in RenderedChart.podSpec(workload)["containers"] as? [[String: Any]] ?? [] {
                XCTAssertEqual(RenderedChart.env(container, "JOB_MANAGER_RPC_ADDRESS"), "flink-cdc-jobmanager", RenderedChart.name(workload))
                seen += 1
            }
        }
        XCTAssertEqual(seen, 4, "JobManager, TaskManager, SQL Gateway, bootstrap")
    }

    /// bin/jobmanager.sh of Flink 1.17.1: `start-foreground [-D ...]`, `start-foreground <host> [-D ...]`
    /// or `start-foreground <host> <webui-port> [-D ...]`: a lone second argument is the host.
    func testJobManagerArgumentsAreWhatJobmanagerShAccepts() throws {
        let plain = RenderedChart.container(try jobmanager(try ChartRenders.render()), "jobmanager")?["args"] as? [String]
        XCTAssertEqual(plain, ["jobmanager"])
        for file in ["spec-ha-values.yaml", "ha-one-jobmanager-filesystem-values.yaml"] {
            let args = RenderedChart.container(try jobmanager(try ChartRenders.render(try ChartRenders.ciValues(file))), "jobmanager")?["args"] as? [String]
            XCTAssertEqual(args, ["jobmanager", "$(POD_IP)"], "\(file): the pod IP as jobmanager.sh's host argument")
        }
    }

    func testHighAvailabilityConfiguredWithOneJobManagerGetsItsObjects() throws {
        let rendered = try ChartRenders.render(try ChartRenders.ciValues("ha-one-jobmanager-filesystem-values.yaml"))
        XCTAssertEqual((try jobmanager(rendered)["spec"] as? [String: Any])?["replicas"] as? Int, 1)
        let role = try XCTUnwrap(rendered.object("Role", "flink-cdc-ha"), "HA without standby JobManagers still needs its Role")
        let rules = role["rules"] as? [[String: Any]] ?? []
        XCTAssertTrue(rules.contains { ($0["resources"] as? [String]) == ["configmaps"] })
        XCTAssertTrue(rules.contains { ($0["resources"] as? [String]) == ["leases"] })
        let binding = try XCTUnwrap(rendered.object("RoleBinding", "flink-cdc-ha"))
        XCTAssertEqual((binding["subjects"] as? [[String: Any]])?.first?["name"] as? String, "flink-cdc")
        let conf = try rendered.flinkConfiguration()
        XCTAssertEqual(conf.entries["high-availability.type"], "kubernetes")
        XCTAssertEqual(conf.entries["kubernetes.cluster-id"], "flink-cdc")
        XCTAssertEqual(conf.entries["kubernetes.namespace"], "flink")
        XCTAssertEqual(conf.entries["high-availability.storageDir"], "file:///opt/flink/data/ha")

        let spec = try ChartRenders.render(try ChartRenders.ciValues("spec-ha-values.yaml"))
        XCTAssertNotNil(spec.object("Role", "flink-cdc-ha"))
        let specConf = try spec.flinkConfiguration()
        XCTAssertEqual(specConf.entries["high-availability"], "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory")
        XCTAssertNil(specConf.entries["high-availability.type"], "the user's key stays the only one")
        XCTAssertEqual(specConf.entries["kubernetes.cluster-id"], "flink-cdc")

        let noHA = try ChartRenders.render()
        XCTAssertNil(noHA.object("Role", "flink-cdc-ha"))
        XCTAssertNil(try noHA.flinkConfiguration().entries["kubernetes.cluster-id"])
    }

    /// Under HA Flink binds the JobManager's RPC to high-availability.jobmanager.port (random by
    /// default), not jobmanager.rpc.port: the chart pins it to the port its probes and Service use.
    func testHighAvailabilityKeepsTheJobManagerRPCOnItsPort() throws {
        for file in ["spec-ha-values.yaml", "ha-one-jobmanager-filesystem-values.yaml"] {
            let rendered = try ChartRenders.render(try ChartRenders.ciValues(file))
            XCTAssertEqual(try rendered.flinkConfiguration().entries["high-availability.jobmanager.port"], "6123", file)
            let liveness = RenderedChart.container(try jobmanager(rendered), "jobmanager")?["livenessProbe"] as? [String: Any]
            XCTAssertEqual((liveness?["tcpSocket"] as? [String: Any])?["port"] as? String, "rpc", file)
        }
        let zookeeper = try ChartRenders.render(["flinkConfiguration": ["high-availability": "zookeeper", "high-availability.zookeeper.quorum": "zk:2181",
                                                                        "high-availability.storageDir": "file:///opt/flink/data/ha"]])
        XCTAssertEqual(try zookeeper.flinkConfiguration().entries["high-availability.jobmanager.port"], "6123")
        XCTAssertNil(zookeeper.object("Role", "flink-cdc-ha"), "ZooKeeper HA needs no Kubernetes permissions")
        XCTAssertNil(try ChartRenders.render().flinkConfiguration().entries["high-availability.jobmanager.port"])
        let owned = try ChartRenders.failure(["flinkConfiguration": ["high-availability.jobmanager.port": "50010"]])
        XCTAssertTrue(owned.contains("flinkConfiguration.high-availability.jobmanager.port is set by the chart"), owned)
    }

    // MARK: JobManager volume and rollout

    func testJobManagerIsReplacedNotDoubledAndItsVolumeHoldsUploads() throws {
        let single = try ChartRenders.render()
        XCTAssertEqual(((try jobmanager(single)["spec"] as? [String: Any])?["strategy"] as? [String: Any])?["type"] as? String, "Recreate")
        let mounts = RenderedChart.container(try jobmanager(single), "jobmanager")?["volumeMounts"] as? [[String: Any]] ?? []
        XCTAssertTrue(mounts.contains { $0["name"] as? String == "data" && $0["mountPath"] as? String == "/opt/flink/data" })
        XCTAssertEqual(try single.flinkConfiguration().entries["web.upload.dir"], "/opt/flink/data/web-upload", "the PVC is used for something")

        let standby = try ChartRenders.render(try ChartRenders.ciValues("spec-ha-values.yaml"))
        XCTAssertEqual(((try jobmanager(standby)["spec"] as? [String: Any])?["strategy"] as? [String: Any])?["type"] as? String, "RollingUpdate")
        XCTAssertNil(standby.object("PersistentVolumeClaim", "flink-cdc-data"), "one ReadWriteOnce volume is never shared by two JobManagers")
        XCTAssertNil(try standby.flinkConfiguration().entries["web.upload.dir"])
        var shared = try ChartRenders.ciValues("spec-ha-values.yaml")
        shared["persistence"] = ["accessModes": ["ReadWriteMany"]]
        XCTAssertNotNil(try ChartRenders.render(shared).object("PersistentVolumeClaim", "flink-cdc-data"))
    }

    // MARK: init copy

    /// The prepare-flink init container's own script, run as an OpenShift-style UID with GID 0
    /// into directories owned by root (as kubelet makes emptyDirs), with the image's paths moved
    /// under a temporary root.
    func testInitCopySucceedsAsARandomUIDWithGroupZero() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to create root-owned targets and switch UID") }
        let init_ = try XCTUnwrap(RenderedChart.container(try jobmanager(try ChartRenders.render()), "prepare-flink"))
        let script = try XCTUnwrap((init_["command"] as? [String])?.last)
        XCTAssertFalse(script.contains("cp -a") || script.contains("cp -p") || script.contains("--preserve"), script)
        let work = try TemporaryDirectory()
        let root = work.file("root")
        for dir in ["opt/flink/lib", "opt/flink/plugins/metrics-prometheus", "opt/flink/conf", "config", "work/lib", "work/plugins", "work/conf"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        _ = try work.write("root/opt/flink/lib/flink-dist-1.17.1.jar", "jar")
        _ = try work.write("root/opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-1.17.1.jar", "jar")
        _ = try work.write("root/opt/flink/conf/flink-conf.yaml", "jobmanager.rpc.address: localhost\n")
        _ = try work.write("root/opt/flink/conf/log4j-cli.properties", "rootLogger.level = INFO\n")
        _ = try work.write("root/config/flink-conf.yaml", "jobmanager.rpc.address: flink-cdc-jobmanager\n")
        _ = try work.write("root/opt/flink/opt/flink-s3-fs-presto-1.17.1.jar", "jar")
        // An image may link a plugin from opt/: the copy keeps the link and leaves its target alone.
        try FileManager.default.createSymbolicLink(atPath: "\(root)/opt/flink/plugins/s3.jar", withDestinationPath: "\(root)/opt/flink/opt/flink-s3-fs-presto-1.17.1.jar")
        // The image's files as the official image has them: owned by flink (9999), world-readable.
        try Command.check("/bin/chown", ["-R", "9999:9999", "\(root)/opt"])
        try Command.check("/bin/chmod", ["-R", "u=rwX,go=rX", "\(root)/opt", "\(root)/config"])
        try Command.check("/bin/chmod", ["0777", "\(root)/work/lib", "\(root)/work/plugins", "\(root)/work/conf", root, work.path])
        let moved = script.replacingOccurrences(of: "/opt/flink", with: "\(root)/opt/flink")
            .replacingOccurrences(of: "/work/", with: "\(root)/work/").replacingOccurrences(of: "/config/", with: "\(root)/config/")
        let run = try Command.run("/usr/bin/setpriv", ["--reuid=1000680000", "--regid=0", "--clear-groups", "/bin/sh", "-ec", moved])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try String(contentsOfFile: "\(root)/work/conf/flink-conf.yaml", encoding: .utf8), "jobmanager.rpc.address: flink-cdc-jobmanager\n",
                       "the chart's configuration replaces the image's")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/work/conf/log4j-cli.properties"), "the image's other files stay (sql-client.sh reads it)")
        for file in ["lib/flink-dist-1.17.1.jar", "plugins/metrics-prometheus/flink-metrics-prometheus-1.17.1.jar", "conf/flink-conf.yaml"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(root)/work/\(file)")
            let mode = (attributes[.posixPermissions] as? Int) ?? 0
            XCTAssertEqual(mode & 0o060, 0o060, "\(file) is read- and writable by group 0: \(String(mode, radix: 8))")
        }
        // What the chart did before: cp -a into the same root-owned directory fails as that UID.
        try FileManager.default.removeItem(atPath: "\(root)/work/lib")
        try FileManager.default.createDirectory(atPath: "\(root)/work/lib", withIntermediateDirectories: false)
        try Command.check("/bin/chmod", ["0777", "\(root)/work/lib"])
        let old = try Command.run("/usr/bin/setpriv", ["--reuid=1000680000", "--regid=0", "--clear-groups", "/bin/cp", "-a", "\(root)/opt/flink/lib/.", "\(root)/work/lib/"])
        XCTAssertNotEqual(old.status, 0, "cp -a as a non-root UID into a root-owned directory")
    }
}
