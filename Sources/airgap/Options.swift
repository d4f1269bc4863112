import AirgapBundle
import ArgumentParser
import Foundation
import OCILayout

/// How to reach registries: the same flags skopeo users know, where there is one.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("mirror"), help: ArgumentHelp("Fetch REGISTRY's images from URL instead (REGISTRY=URL); the bundle still names REGISTRY.", valueName: "REGISTRY=URL"))
    var mirrors: [String] = []

    @Option(name: .customLong("insecure-registry"), help: ArgumentHelp("Speak plain HTTP to this registry.", valueName: "HOST[:PORT]"))
    var insecureRegistries: [String] = []

    @Option(help: ArgumentHelp("Credentials file (containers auth.json or docker config.json), searched before the standard ones.", valueName: "FILE"))
    var authfile: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("Also trust the CA certificates in this PEM file.", valueName: "FILE"))
    var caFiles: [String] = []

    @Option(name: .customLong("certs-dir"), help: ArgumentHelp("Look for HOST[:PORT]/*.crt CA files here instead of /etc/containers/certs.d, ~/.config/containers/certs.d and /etc/docker/certs.d.", valueName: "DIR"))
    var certsDirectories: [String] = []

    @Option(name: .customLong("retry-times"), help: "Attempts for a request that fails with 429, 5xx or a broken connection.")
    var retryTimes: Int = 5

    func validate() throws {
        for mirror in mirrors {
            do { _ = try RegistryHosts.parseMirror(mirror) } catch { throw ValidationError("\(error)") }
        }
        guard retryTimes >= 1 else { throw ValidationError("--retry-times must be at least 1") }
    }

    func pool(specMirrors: [String: URL], log: @escaping @Sendable (String) -> Void) throws -> RegistryPool {
        var hosts = RegistryHosts(mirrors: specMirrors, insecure: Set(insecureRegistries))
        for mirror in mirrors {
            let (registry, url) = try RegistryHosts.parseMirror(mirror)
            hosts.mirrors[registry] = url
        }
        let trust = TLSTrust(caFiles: caFiles, certsRoots: certsDirectories.isEmpty ? TLSTrust.defaultCertsRoots : certsDirectories)
        return RegistryPool(hosts: hosts, transport: CurlTransport(trust: trust), credentials: CredentialStore.standard(authFile: authfile),
                            retry: RetryPolicy(attempts: retryTimes), onRetry: log)
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print a JSON summary on stdout instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress bar, even on a terminal.")
    var quiet = false

    var showProgress: Bool { !quiet && !json && TransferProgress.stderrIsTerminal }

    func printJSON<T: Encodable>(_ value: T) throws {
        let data = try JSONEncoder.canonical(pretty: true).encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// Warnings and retry notices go to stderr, one line each.
let logToStderr: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data("airgap: \(line)\n".utf8))
}
