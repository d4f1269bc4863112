import AirgapTestSupport
import Foundation
import XCTest

/// One release of the chart started by `Tests/Fixtures/kube_pods.py` (the harness plays the
/// kubelet and OpenShift's restricted-v2 admission; everything it runs comes from the manifests
/// Helm's engine rendered), and Flink's REST API on the JobManager Service.
/// A condition that can never hold any more: stops a wait at once.
struct Fatal: Error { var message: String }

final class FlinkCluster {
    let runtime: FlinkRuntime
    let work: TemporaryDirectory
    private var harness: BackgroundProcess?

    /// The pre-created secrets the chart names (values.secrets), as an operator creates them.
    static let secrets = """
    apiVersion: v1
    kind: Secret
    metadata: {name: mssql-creds}
    stringData: {username: cdc_reader, password: "it's a p&ss/word"}
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: s3-creds}
    stringData: {accessKey: AKIAAIRGAPTEST, secretKey: airgap-test-secret-key}
    """

    /// Renders the pushed chart with values-airgap.yaml and then `values` (YAML documents, in
    /// order, as `helm install -f values-airgap.yaml -f ...` merges them) and starts its pods.
    /// `claims`: the folder holding the PersistentVolumeClaims' data; a second cluster on the
    /// same folder is what `helm upgrade` gives: new pods, the same volumes.
    /// `uid`: OpenShift gives every pod of a namespace the first UID of its range, so an upgrade
    /// keeps the UID of the release before it (its files on the volumes stay writable).
    /// `valueFiles` come before values-airgap.yaml (a user's own file, as `helm install -f
    /// custom-values.yaml -f values-airgap.yaml`), `values` after it; `objects` are more objects the
    /// namespace holds (YAML), next to the secrets.
    init(_ runtime: FlinkRuntime, valueFiles: [String] = [], values: [String], objects: String? = nil, label: String,
         claims: String? = nil, uid: Int? = nil) throws {
        self.runtime = runtime
        self.claims = claims
        work = try TemporaryDirectory("cluster-\(label)")
        var arguments = [Paths.fixture("kube_pods.py"), "up", "--chart", runtime.chart]
        for file in valueFiles { arguments += ["--values", file] }
        arguments += ["--values", "\(runtime.chart)/values-airgap.yaml"]
        for (index, text) in values.enumerated() {
            arguments += ["--values", try work.write("values-\(index).yaml", text)]
        }
        if let objects { arguments += ["--objects", try work.write("objects.yaml", objects)] }
        arguments += ["--objects", try work.write("secrets.yaml", Self.secrets), "--work", work.file("state"),
                      "--storage", runtime.podmanStorage, "--authfile", runtime.authFile, "--cert-dir", runtime.certDirectory]
        if let claims { arguments += ["--claims", claims] }
        if let uid { arguments += ["--uid", "\(uid)"] }
        harness = try BackgroundProcess(Helm.python, arguments, logFile: work.file("harness.log"))
    }

    deinit { stop() }

    /// Stops every pod (the harness removes them by id on SIGTERM), then removes by id whatever a
    /// harness that died left.
    func stop() {
        guard let harness else { return }
        harness.stop()
        self.harness = nil
        _ = try? Command.run(Helm.python, [Paths.fixture("kube_pods.py"), "down", "--work", work.file("state"), "--storage", runtime.podmanStorage])
    }

    // MARK: - what the harness reports

    var state: [String: Any] {
        guard let data = FileManager.default.contents(atPath: work.file("state/state.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    var pods: [[String: Any]] { state["pods"] as? [[String: Any]] ?? [] }

    func pods(of owner: String) -> [[String: Any]] {
        pods.filter { ($0["owner"] as? String) == owner }
    }

    /// The rendered objects the harness ran.
    var objects: [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: work.file("state/objects.json")) else { return [] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
    }

    /// The pods, their phases and the last lines of what failed: printed when a wait fails.
    var report: String {
        var lines = ["harness: " + ((try? String(contentsOfFile: work.file("harness.log"), encoding: .utf8)) ?? "").suffix(1500)]
        lines.append("events: \(state["events"] ?? [])")
        lines.append("images: \(state["images"] ?? [:])")
        lines.append("services: \(state["services"] ?? [:])")
        for pod in pods {
            lines.append("pod \(pod["name"] ?? "?") \(pod["phase"] ?? "?") \(pod["reason"] ?? "") \(pod["message"] ?? "")")
            for container in (pod["initContainers"] as? [[String: Any]] ?? []) + (pod["containers"] as? [[String: Any]] ?? []) {
                lines.append("  \(container["name"] ?? "?"): \(container["state"] ?? "?") exit=\(container["exitCode"] ?? "-") restarts=\(container["restarts"] ?? 0) ready=\(container["ready"] ?? "-")")
                if container["state"] as? String == "running", let name = container["name"] as? String,
                   let live = try? containerLog(pod: pod["name"] as? String ?? "", container: name) {
                    let errors = live.split(separator: "\n").filter { $0.contains("ERROR") || $0.contains("Exception") || $0.contains("WARN")
                        || $0.contains("leader") || $0.contains("Actor system started") }
                    lines.append("    log (\(errors.count) WARN/ERROR lines, last ones): " + errors.suffix(25).joined(separator: "\n      "))
                }
                if let last = container["lastTermination"] as? [String: Any] {
                    lines.append("    last: exit \(last["exitCode"] ?? "?"): \(String(describing: last["log"] ?? "").suffix(1200))")
                }
            }
        }
        let logs = work.file("state/logs")
        for pod in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: "\(logs)/\(pod)")) ?? [] {
                let text = (try? String(contentsOfFile: "\(logs)/\(pod)/\(file)", encoding: .utf8)) ?? ""
                lines.append("log \(pod)/\(file): \(text.suffix(800))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Waits until `condition` holds, or fails with the harness's report.
    func wait(for what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch let fatal as Fatal {
                throw TestFailure.timedOut("\(what): \(fatal.message)\n\(report)")
            } catch {}
            if (state["phase"] as? String) == "Failed" { break }
            Thread.sleep(forTimeInterval: 2)
        }
        throw TestFailure.timedOut("\(what) (\(Int(timeout)) s)\n\(report)")
    }

    /// Every pod of every Deployment ready, as the readiness probes the chart declares say.
    func waitUntilDeploymentsReady(timeout: Double = 240) throws {
        try wait(for: "every pod of every Deployment ready", timeout: timeout) {
            // objects.json appears once the harness rendered the chart.
            let deployments = objects.filter { $0["kind"] as? String == "Deployment" }.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
            let running = pods.filter { deployments.contains($0["owner"] as? String ?? "") }
            return !running.isEmpty && running.allSatisfy { $0["ready"] as? Bool == true }
        }
    }

    /// Directory on this host behind an emptyDir or PVC a pod mounts.
    func volume(pod: String, name: String) -> String { work.file("state/pods/\(pod)/volumes/\(name)") }
    func claim(_ name: String) -> String { "\(claims ?? work.file("state/volumes"))/\(name)" }
    private let claims: String?

    /// The pod of the bootstrap Job once it ended (Succeeded or Failed).
    func waitForBootstrap(timeout: Double = 240) throws -> [String: Any] {
        var ended: [String: Any]?
        try wait(for: "the bootstrap Job's pod to end", timeout: timeout) {
            ended = pods.first { ($0["kind"] as? String) == "Job" && ["Succeeded", "Failed"].contains($0["phase"] as? String ?? "") }
            return ended != nil
        }
        return ended!
    }

    /// What a container printed: from podman while it runs, else as the harness saved it when it ended.
    func containerLog(pod: String, container: String) throws -> String {
        let live = try Command.run(Helm.python, [Paths.fixture("kube_pods.py"), "logs", "--work", work.file("state"), "--storage", runtime.podmanStorage,
                                                 "--pod", pod, "--container", container])
        if live.status == 0 { return live.stdout }
        let directory = work.file("state/logs/\(pod)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("\(container)-") }.sorted()
        return try files.map { try String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }.joined(separator: "\n")
    }

    /// The image the JobManager Deployment runs.
    var flinkImage: String {
        let deployment = objects.first { $0["kind"] as? String == "Deployment" && (($0["metadata"] as? [String: Any])?["name"] as? String)?.hasSuffix("-jobmanager") == true }
        let spec = ((deployment?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        return ((spec?["containers"] as? [[String: Any]])?.first?["image"] as? String) ?? ""
    }

    /// GET /jobmanager/config as key -> value.
    func jobManagerConfig() throws -> [String: String] {
        let entries = try XCTUnwrap(try get("/jobmanager/config") as? [[String: String]])
        return Dictionary(entries.map { ($0["key"] ?? "", $0["value"] ?? "") }, uniquingKeysWith: { $1 })
    }

    /// A registered TaskManager's memory as Flink computed it (bytes), from GET /taskmanagers/:id.
    func taskManagerMemory(_ taskManager: [String: Any]) throws -> [String: Int] {
        let id = try XCTUnwrap(taskManager["id"] as? String)
        let details = try XCTUnwrap(try get("/taskmanagers/\(id)") as? [String: Any])
        let memory = try XCTUnwrap(details["memoryConfiguration"] as? [String: Any], "\(details)")
        return memory.compactMapValues { $0 as? Int }
    }

    /// The options a ConfigMap script passes to `sql-client.sh` are ones the image's own
    /// `bin/sql-client.sh --help` lists.
    func assertSqlClientAccepts(optionsOf script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let configMaps = objects.filter { $0["kind"] as? String == "ConfigMap" }
        let text = configMaps.compactMap { ($0["data"] as? [String: String])?[script] }.first ?? ""
        let call = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("sql-client") && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") },
                                 "\(script) calls the SQL client:\n\(text)", file: file, line: line)
        let options = call.split(separator: " ").filter { $0.hasPrefix("-") }.map(String.init)
        XCTAssertFalse(options.isEmpty, String(call), file: file, line: line)
        let environment = ["CONTAINERS_CONF": "\(runtime.podmanStorage)/containers.conf",
                           "CONTAINERS_STORAGE_CONF": "\(runtime.podmanStorage)/storage.conf",
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let help = try Command.run("podman", ["run", "--rm", "--network", "none", "--pull", "never", flinkImage,
                                              "/opt/flink/bin/sql-client.sh", "--help"], environment: environment)
        let usage = help.stdout + help.stderr
        XCTAssertTrue(usage.contains("Mode \"embedded\""), usage, file: file, line: line)
        for option in options {
            XCTAssertTrue(usage.contains(" \(option),") || usage.contains(",\(option) ") || usage.contains(" \(option) "),
                          "sql-client.sh --help lists \(option) (\(call))", file: file, line: line)
        }
    }

    // MARK: - Flink's REST API, on the JobManager Service's address

    var serviceName: String { "flink-cdc-jobmanager" }

    var restURL: String {
        let services = state["services"] as? [String: Any] ?? [:]
        let endpoints = (services[serviceName] as? [String: Any])?["endpoints"] as? [String] ?? []
        return "http://\(endpoints.first ?? "0.0.0.0"):8081"
    }

    func get(_ path: String) throws -> Any {
        let result = try Command.check("curl", ["-sS", "--fail-with-body", "-m", "20", restURL + path])
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    func getText(_ path: String) throws -> String {
        try Command.check("curl", ["-sS", "--fail-with-body", "-m", "20", restURL + path]).stdout
    }

    func post(_ path: String, json: [String: Any] = [:]) throws -> [String: Any] {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        let result = try Command.check("curl", ["-sS", "--fail-with-body", "-m", "60", "-X", "POST", "-H", "Content-Type: application/json",
                                                "-d", body, restURL + path])
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// Uploads the job JAR (/jars/upload) and runs it (/jars/:id/run): the JobManager runs main().
    /// `configuration` goes into the run request's flinkConfiguration, as the SQL client applies `SET` statements to its submission.
    func submit(jar: String, arguments: [String], savepoint: String? = nil, configuration: [String: String] = [:]) throws -> String {
        let upload = try Command.run("curl", ["-sS", "--fail-with-body", "-m", "60", "-F", "jarfile=@\(jar)", restURL + "/jars/upload"])
        guard upload.status == 0 else { throw TestFailure.timedOut("upload of \(jar): \(upload.stdout) \(upload.stderr)\n\(report)") }
        let uploaded = try JSONSerialization.jsonObject(with: Data(upload.stdout.utf8)) as? [String: Any]
        let file = try XCTUnwrap((uploaded?["filename"] as? String)?.split(separator: "/").last.map(String.init), upload.stdout)
        var request: [String: Any] = ["programArgsList": arguments]
        if let savepoint { request["savepointPath"] = savepoint }
        if !configuration.isEmpty { request["flinkConfiguration"] = configuration }
        let run: [String: Any]
        do {
            run = try post("/jars/\(file)/run", json: request)
        } catch {
            throw TestFailure.timedOut("run of \(jar): \(String(describing: error).prefix(1500))\n\(report)")
        }
        return try XCTUnwrap(run["jobid"] as? String, "\(run)")
    }

    func jobState(_ id: String) throws -> String {
        ((try get("/jobs/\(id)")) as? [String: Any])?["state"] as? String ?? "?"
    }

    /// The job RUNNING with every task running (a savepoint needs all of them).
    func waitUntilTasksRun(_ id: String, timeout: Double = 180) throws {
        try waitForJob(id, state: "RUNNING", timeout: timeout)
        try wait(for: "every task of \(id) RUNNING", timeout: timeout) {
            let vertices = ((try get("/jobs/\(id)")) as? [String: Any])?["vertices"] as? [[String: Any]] ?? []
            return !vertices.isEmpty && vertices.allSatisfy { $0["status"] as? String == "RUNNING" }
        }
    }

    func waitForJob(_ id: String, state wanted: String, timeout: Double = 180) throws {
        try wait(for: "job \(id) \(wanted)", timeout: timeout) {
            let current = try jobState(id)
            if ["FAILED", "CANCELED"].contains(current), current != wanted {
                let exceptions = (try? getText("/jobs/\(id)/exceptions")) ?? ""
                throw Fatal(message: "job \(id) is \(current): \(exceptions.prefix(3000))")
            }
            return current == wanted
        }
    }
}
