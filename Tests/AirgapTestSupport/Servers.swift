import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port nobody listens on right now, chosen by the kernel.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0 else { throw TestFailure.timedOut("a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts TCP connections on the port.
public func waitForPort(_ port: Int, timeout: Double = 10) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return }
        usleep(20_000)
    }
    throw TestFailure.timedOut("port \(port)")
}

/// A background process stopped (SIGTERM, then waited for) when released.
public final class BackgroundProcess {
    let process = Process()

    public init(_ executable: String, _ arguments: [String], logFile: String) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Debian's `docker-registry` (the CNCF distribution registry) on a free loopback port: plain
/// HTTP, or TLS with a throwaway self-signed CA and htpasswd (bcrypt) users.
public final class RegistryServer {
    public let port: Int
    public let directory: TemporaryDirectory
    public let tls: Bool
    /// PEM of the certificate the registry serves (its own CA) when `tls`.
    public var caFile: String { directory.file("ca.crt") }
    public var logFile: String { directory.file("registry.log") }
    public var host: String { "127.0.0.1:\(port)" }
    private let server: BackgroundProcess

    /// With `clientCA`, the registry requires client certificates signed by that CA (mutual TLS).
    public init(tls: Bool = false, users: [String: String] = [:], clientCA: String? = nil) throws {
        directory = try TemporaryDirectory("registry")
        port = try freeLoopbackPort()
        self.tls = tls
        var config = """
        version: 0.1
        log: {level: info, accesslog: {disabled: false}}
        storage: {filesystem: {rootdirectory: \(directory.file("storage"))}, delete: {enabled: true}}
        http:
          addr: 127.0.0.1:\(port)
          secret: airgap-test-secret

        """
        let certificate = directory.file("ca.crt")
        if tls {
            try Command.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                          "-keyout", directory.file("server.key"), "-out", certificate, "-subj", "/CN=localhost",
                                          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            config += "  tls: {certificate: \(certificate), key: \(directory.file("server.key"))\(clientCA.map { ", clientcas: [\($0)]" } ?? "")}\n"
        }
        if !users.isEmpty {
            var lines = ""
            for (user, password) in users.sorted(by: { $0.key < $1.key }) {
                lines += try Command.check("htpasswd", ["-Bbn", user, password]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
            }
            _ = try directory.write("htpasswd", lines)
            config += "auth: {htpasswd: {realm: airgap-test, path: \(directory.file("htpasswd"))}}\n"
        }
        let configFile = try directory.write("config.yml", config)
        server = try BackgroundProcess("/usr/bin/docker-registry", ["serve", configFile], logFile: directory.file("registry.log"))
        try waitForPort(port)
    }

    public func stop() { server.stop() }

    /// The repositories the registry holds (what `/v2/_catalog` lists), read from its storage so
    /// TLS and auth do not matter: a repository exists once anything was written into it.
    public func repositories() -> [String] {
        let root = directory.file("storage/docker/registry/v2/repositories")
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var names: [String] = []
        for case let relative as String in walker {
            var components = relative.split(separator: "/").map(String.init)
            guard let last = components.popLast(), ["_layers", "_uploads", "_manifests"].contains(last), !components.isEmpty else { continue }
            let name = components.joined(separator: "/")
            if !names.contains(name) { names.append(name) }
        }
        return names.sorted()
    }

    /// Registry-side requests seen so far, from its access log: how tests prove nothing was written.
    public func accessLog() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }
}

/// `Tests/Fixtures/fault_proxy.py` in front of a registry: token auth, redirects, injected
/// failures, with every request it saw in a JSON-lines log.
public final class FaultProxy {
    public let port: Int
    public let storagePort: Int
    public let logFile: String
    private let server: BackgroundProcess
    private let directory: TemporaryDirectory

    public init(upstream: RegistryServer, options: [String]) throws {
        directory = try TemporaryDirectory("proxy")
        port = try freeLoopbackPort()
        storagePort = try freeLoopbackPort()
        logFile = directory.file("requests.jsonl")
        FileManager.default.createFile(atPath: logFile, contents: nil)
        server = try BackgroundProcess("/usr/bin/python3", [Paths.fixture("fault_proxy.py"), "--port", "\(port)",
                                                            "--storage-port", "\(storagePort)", "--upstream-port", "\(upstream.port)",
                                                            "--log", logFile] + options,
                                       logFile: directory.file("proxy.out"))
        try waitForPort(port)
        try waitForPort(storagePort)
    }

    public var host: String { "127.0.0.1:\(port)" }

    /// The logged requests, one dictionary each.
    public func requests() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}

/// `python3 -m http.server` over a directory on loopback: a Maven repository or a Helm
/// repository as a plain web server serves it.
public final class StaticHTTPServer {
    public let port: Int
    private let server: BackgroundProcess
    private let logDirectory: TemporaryDirectory

    public init(directory: String) throws {
        logDirectory = try TemporaryDirectory("http")
        port = try freeLoopbackPort()
        server = try BackgroundProcess("/usr/bin/python3", ["-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, "\(port)"],
                                       logFile: logDirectory.file("http.log"))
        try waitForPort(port)
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Request lines served so far.
    public func requests() -> [String] {
        ((try? String(contentsOfFile: logDirectory.file("http.log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
