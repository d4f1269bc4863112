import Foundation

/// Helm's own engine (helm-sdkpy, Helm v4 as a library) on a chart, through
/// `Tests/Fixtures/helm_render.py`, in the venv `scripts/install-deps.sh` makes.
public enum Helm {
    public static var python: String { "\(Paths.repositoryRoot)/.build-py/venv/bin/python" }

    /// The rendered objects, or the engine's error message.
    public static func render(_ chart: String, values: [String: Any] = [:]) throws -> Result<[[String: Any]], RenderFailure> {
        let output = try run(["render", chart, "--values", try json(values)])
        if output["ok"] as? Bool == true { return .success(output["objects"] as? [[String: Any]] ?? []) }
        return .failure(RenderFailure(message: output["error"] as? String ?? "\(output)"))
    }

    /// Strict `helm lint` with `values` merged into the chart's values.yaml: nil when clean,
    /// else the messages (severity and file).
    public static func lint(_ chart: String, values: [String: Any] = [:]) throws -> [String]? {
        let output = try run(["lint", chart, "--values", try json(values)])
        return output["ok"] as? Bool == true ? nil : output["messages"] as? [String] ?? ["\(output)"]
    }

    /// kubernetes-validate (strict) on each built-in object: the problems, empty when valid.
    public static func validate(_ objects: [[String: Any]]) throws -> [String] {
        let input = try JSONSerialization.data(withJSONObject: objects)
        let result = try Command.run(python, [Paths.fixture("helm_render.py"), "validate"], input: input)
        guard let output = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure.commandFailed("helm_render.py validate", result)
        }
        return output["problems"] as? [String] ?? []
    }

    /// A values file (YAML) as the dictionary `render` and `lint` take.
    public static func values(file: String) throws -> [String: Any] {
        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])) or {}))"
        let result = try Command.run(python, ["-c", script, file])
        guard result.status == 0, let values = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure.commandFailed("read \(file)", result)
        }
        return values
    }

    public struct RenderFailure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private static func json(_ values: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: values), as: UTF8.self)
    }

    private static func run(_ arguments: [String]) throws -> [String: Any] {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure.timedOut("\(python): run scripts/install-deps.sh to install helm-sdkpy")
        }
        let result = try Command.run(python, [Paths.fixture("helm_render.py")] + arguments)
        guard result.status == 0, let output = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure.commandFailed("helm_render.py " + arguments.joined(separator: " "), result)
        }
        return output
    }
}

/// What Helm rendered, with the lookups chart tests make.
public struct RenderedChart {
    public var objects: [[String: Any]]

    public init(_ objects: [[String: Any]]) { self.objects = objects }

    public func object(_ kind: String, _ name: String) -> [String: Any]? {
        objects.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
    }

    public func all(_ kind: String) -> [[String: Any]] { objects.filter { $0["kind"] as? String == kind } }

    /// The one object of `kind` whose name starts with `prefix` (hash-named Jobs).
    public func object(_ kind: String, prefix: String) -> [String: Any]? {
        all(kind).first { (($0["metadata"] as? [String: Any])?["name"] as? String ?? "").hasPrefix(prefix) }
    }

    public static func name(_ object: [String: Any]) -> String { (object["metadata"] as? [String: Any])?["name"] as? String ?? "" }

    public static func podSpec(_ workload: [String: Any]) -> [String: Any] {
        (((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]) ?? [:]
    }

    public static func podMetadata(_ workload: [String: Any]) -> [String: Any] {
        (((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any]) ?? [:]
    }

    /// Init containers first, then containers.
    public static func containers(_ workload: [String: Any]) -> [[String: Any]] {
        let pod = podSpec(workload)
        return (pod["initContainers"] as? [[String: Any]] ?? []) + (pod["containers"] as? [[String: Any]] ?? [])
    }

    public static func container(_ workload: [String: Any], _ name: String) -> [String: Any]? {
        containers(workload).first { $0["name"] as? String == name }
    }

    /// A container's plain env value (nil for valueFrom or absent).
    public static func env(_ container: [String: Any]?, _ name: String) -> String? {
        (container?["env"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name }?["value"] as? String
    }

    /// The Flink configuration file the chart wrote: its name and text.
    public var flinkConfigurationFile: (name: String, text: String) {
        let data = object("ConfigMap", "flink-cdc-config")?["data"] as? [String: String] ?? [:]
        for name in ["flink-conf.yaml", "config.yaml"] where data[name] != nil { return (name, data[name]!) }
        return ("", "")
    }

    /// The configuration as the image's Flink reads it.
    public func flinkConfiguration() throws -> FlinkConf {
        let file = flinkConfigurationFile
        return try FlinkConf.read(file.text, fileName: file.name)
    }
}
