import Foundation

/// Runs the built `airgap` binary in an environment with no user credentials or caches, the
/// way a fresh operator account would.
public struct AirgapRunner {
    public let home: TemporaryDirectory
    public var extraEnvironment: [String: String] = [:]

    public init() throws {
        home = try TemporaryDirectory("home")
    }

    public var environment: [String: String] {
        var environment = ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                           "XDG_CACHE_HOME": home.file("cache"), "XDG_CONFIG_HOME": home.file("config"), "LANG": "C.UTF-8"]
        environment.merge(extraEnvironment) { $1 }
        return environment
    }

    /// The binary the runner drives: the one just built, unless `AIRGAP_BINARY` names another
    /// (to run a test against an older build and watch it fail).
    public static var binary: String {
        ProcessInfo.processInfo.environment["AIRGAP_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? Paths.airgapBinary
    }

    @discardableResult
    public func run(_ arguments: [String], directory: String? = nil, timeout: Double? = nil) throws -> CommandResult {
        try Command.run(Self.binary, arguments, environment: environment, directory: directory, timeout: timeout)
    }

    /// Runs and throws with the full output unless it exited 0.
    @discardableResult
    public func check(_ arguments: [String], directory: String? = nil) throws -> CommandResult {
        let result = try run(arguments, directory: directory)
        guard result.status == 0 else { throw TestFailure.commandFailed("airgap " + arguments.joined(separator: " "), result) }
        return result
    }

    /// Runs with `--json` and decodes stdout.
    public func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try check(arguments + ["--json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure.commandFailed("airgap --json output", result)
        }
        return object
    }
}

public enum Tamper {
    public static func run(_ arguments: [String]) throws {
        try Command.check("python3", [Paths.fixture("tamper.py")] + arguments)
    }
}
