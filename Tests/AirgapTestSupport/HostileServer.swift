import Foundation

/// `Tests/Fixtures/hostile_server.py`: a registry, Maven repository and Helm repository on
/// loopback that misbehave as the scenario scripts, with an "elsewhere" listener (another
/// origin) that records whatever reaches it. Stopped (by its PID) when released.
public final class HostileServer {
    public let port: Int
    public let elsewherePort: Int
    public let logFile: String
    public let directory: TemporaryDirectory
    public let tls: Bool
    private let server: BackgroundProcess

    /// With `tls`, the main port speaks HTTPS with a throwaway self-signed certificate (`caFile`).
    public init(scenario: String = "normal", tls: Bool = false, options: [String] = []) throws {
        directory = try TemporaryDirectory("hostile")
        port = try freeLoopbackPort()
        elsewherePort = try freeLoopbackPort()
        logFile = directory.file("requests.jsonl")
        self.tls = tls
        FileManager.default.createFile(atPath: logFile, contents: nil)
        var arguments = [Paths.fixture("hostile_server.py"), "--port", "\(port)", "--elsewhere-port", "\(elsewherePort)",
                         "--log", logFile, "--scenario", scenario] + options
        if tls {
            try Command.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                          "-keyout", directory.file("server.key"), "-out", directory.file("ca.crt"), "-subj", "/CN=localhost",
                                          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            arguments += ["--tls-cert", directory.file("ca.crt"), "--tls-key", directory.file("server.key")]
        }
        server = try BackgroundProcess("/usr/bin/python3", arguments, logFile: directory.file("server.out"))
        try waitForPort(port)
        try waitForPort(elsewherePort)
    }

    public var host: String { "127.0.0.1:\(port)" }
    public var url: String { "\(tls ? "https" : "http")://\(host)" }
    public var caFile: String { directory.file("ca.crt") }

    public func stop() { server.stop() }

    /// The logged requests, one dictionary each.
    public func requests() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// What reached the other origin.
    public func elsewhere() -> [[String: Any]] { requests().filter { $0["role"] as? String == "elsewhere" } }
}

/// Proves a secret went nowhere: not in any file under the given directories, not in what a
/// command printed — neither as written nor in its base64 (`user:pass`) form.
public enum SecretSearch {
    public static func forms(user: String, password: String) -> [String] {
        [password, Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// Files (below `directories`, except the test's own `excluding` inputs) and outputs holding
    /// any form of the secret.
    public static func leaks(of forms: [String], in directories: [String], excluding: [String] = [], outputs: [CommandResult]) -> [String] {
        var found: [String] = []
        for directory in directories {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
            for case let relative as String in walker {
                let path = "\(directory)/\(relative)"
                guard !excluding.contains(path) else { continue }
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let text = String(decoding: data, as: UTF8.self)
                for form in forms where text.contains(form) || data.range(of: Data(form.utf8)) != nil { found.append("\(path) holds \(form)") }
            }
        }
        for (position, output) in outputs.enumerated() {
            for form in forms where output.stdout.contains(form) || output.stderr.contains(form) { found.append("output #\(position) prints \(form)") }
        }
        return found
    }
}
