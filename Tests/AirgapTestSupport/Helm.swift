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
