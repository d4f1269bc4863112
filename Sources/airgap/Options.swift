import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
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

    var retry: RetryPolicy { RetryPolicy(attempts: retryTimes) }

    func transport() -> CurlTransport {
        CurlTransport(trust: TLSTrust(caFiles: caFiles, certsRoots: certsDirectories.isEmpty ? TLSTrust.defaultCertsRoots : certsDirectories))
    }

    func pool(specMirrors: [String: URL], transport: HTTPTransport, log: @escaping @Sendable (String) -> Void) throws -> RegistryPool {
        var hosts = RegistryHosts(mirrors: specMirrors, insecure: Set(insecureRegistries))
        for mirror in mirrors {
            let (registry, url) = try RegistryHosts.parseMirror(mirror)
            hosts.mirrors[registry] = url
        }
        return RegistryPool(hosts: hosts, transport: transport, credentials: CredentialStore.standard(authFile: authfile),
                            retry: retry, onRetry: log)
    }
}

/// What `lock` and `pack` share: the spec, the lock, the cache, and where things come from.
struct ResolveOptions: ParsableArguments {
    @Option(help: "The bundle spec.")
    var spec = "airgap.yaml"

    @Option(help: ArgumentHelp("The lockfile (default: bundle.lock beside the spec).", valueName: "PATH"))
    var lock: String?

    @Option(help: ArgumentHelp("Content-addressed download cache (default: $XDG_CACHE_HOME/airgap or ~/.cache/airgap).", valueName: "DIR"))
    var cache: String?

    @Option(name: .customLong("maven-repo"), help: ArgumentHelp("Take JARs from this Maven 2 repository instead of the spec's (a Nexus or Artifactory mirror).", valueName: "URL"))
    var mavenRepository: String?

    @Flag(name: .customLong("allow-unverified"), help: "Accept JARs and charts for which no checksum is published (the lock records them as unverified).")
    var allowUnverified = false

    @Flag(name: .customLong("no-signatures"), help: "Do not look for or carry cosign signatures, attestations, SBOMs and OCI referrers of the images.")
    var noSignatures = false

    @Option(name: .customLong("verify-key"), help: ArgumentHelp("Accept an image only when a cosign signature over its digest verifies with this PEM public key (ECDSA P-256, RSA, Ed25519); for every image, as well as images[].verify.key.", valueName: "FILE"))
    var verifyKey: String?

    @OptionGroup var registry: RegistryOptions

    var lockPath: String { lock ?? LockfileStore.defaultPath(forSpec: spec) }

    func validate() throws {
        if let mavenRepository, URL(string: mavenRepository)?.host == nil {
            throw ValidationError("--maven-repo \(mavenRepository): expected an http(s) URL")
        }
    }

    /// The spec and a resolver wired with these options.
    func resolver(log: @escaping @Sendable (String) -> Void) throws -> (BundleSpec, BundleResolver) {
        let bundleSpec = try BundleSpec.load(path: spec)
        let transport = registry.transport()
        let pool = try registry.pool(specMirrors: bundleSpec.mirrors, transport: transport, log: log)
        let store = try BlobStore(root: cache ?? Self.defaultCache())
        var resolver = BundleResolver(pool: pool, cache: store, transport: transport, retry: registry.retry,
                                      mavenRepository: mavenRepository.flatMap(URL.init(string:)),
                                      allowUnverified: allowUnverified, log: log)
        resolver.signatures = !noSignatures
        if let verifyKey {
            _ = try VerificationKey(path: verifyKey)
            resolver.verifyKey = verifyKey
        }
        return (bundleSpec, resolver)
    }

    static func defaultCache() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return "\(xdg)/airgap" }
        return "\(environment["HOME"] ?? NSHomeDirectory())/.cache/airgap"
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

/// Flink compatibility findings, printed as warnings by `lock` and `pack`: `audit` is the gate.
func warnAboutCompatibility(_ lock: Lockfile) {
    for finding in Auditor.compatibilityFindings(lock) {
        logToStderr("warning: \(finding.id) \(finding.artifact): \(finding.message); fix: \(finding.fix)")
    }
}

/// Warnings and retry notices go to stderr, one line each.
let logToStderr: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data("airgap: \(line)\n".utf8))
}

extension BundleEntry.Kind {
    /// The kind as a column of `pack` and `push` output: padded, never cut short.
    var label: String { rawValue.count >= 9 ? rawValue : rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) }
}
