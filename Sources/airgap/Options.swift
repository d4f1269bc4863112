import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

/// How to reach registries: one group on every command that talks to one (lock, pack, push,
/// audit), with skopeo's words where skopeo has one (`--authfile`, `--cert-dir`,
/// `--tls-verify=false`), so the vocabularies cannot drift apart again. Old spellings stay as
/// hidden aliases: scripts written against them keep working.
struct RegistryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Credentials file (containers auth.json or docker config.json), searched before the standard ones; it must exist.", valueName: "FILE"))
    var authfile: String?

    @Option(help: ArgumentHelp("User name for the registry; the password (or a token: oc whoami -t) comes from --password-stdin. lock and pack use it only when the spec's images come from one registry.", valueName: "USER"))
    var username: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password for --username from standard input.")
    var passwordStdin = false

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("Also trust the CA certificates in this PEM file (repeatable).", valueName: "FILE"))
    var caFiles: [String] = []

    @Option(name: .customLong("cert-dir"), help: ArgumentHelp("Use DIR's *.crt as CAs and its NAME.cert/NAME.key as client certificate, as skopeo does; HOST[:PORT]/ folders inside it (the certs.d layout) apply to that host. Replaces /etc/containers/certs.d, ~/.config/containers/certs.d and /etc/docker/certs.d.", valueName: "DIR"))
    var certDirectories: [String] = []

    @Option(name: .customLong("certs-dir"), help: .hidden)
    var certsDirectoriesAlias: [String] = []

    @Option(name: .customLong("tls-verify"), help: ArgumentHelp("--tls-verify=false: do not check registries' TLS certificates (still TLS; for plain HTTP use --plain-http).", valueName: "BOOL"))
    var tlsVerify = true

    @Flag(name: .customLong("insecure"), help: .hidden)
    var insecureAlias = false

    @Flag(name: .customLong("plain-http"), help: "Speak plain HTTP to the registry (push, audit: --registry; lock, pack: every registry of the spec; an http:// mirror is plain HTTP anyway).")
    var plainHTTP = false

    @Option(name: .customLong("insecure-registry"), help: ArgumentHelp("Speak plain HTTP to this registry only (repeatable).", valueName: "HOST[:PORT]"))
    var insecureRegistries: [String] = []

    @OptionGroup var transfer: TransferOptions

    func validate() throws {
        guard (username == nil) == !passwordStdin else { throw ValidationError("--username and --password-stdin go together") }
    }

    var trust: TLSTrust {
        let directories = certDirectories + certsDirectoriesAlias
        return TLSTrust(caFiles: caFiles, certsRoots: directories.isEmpty ? TLSTrust.defaultCertsRoots : [],
                        certDirectories: directories, skipVerification: !tlsVerify || insecureAlias)
    }

    func stack(debug: Bool, log: @escaping @Sendable (String) -> Void) -> TransportStack {
        var trace: (@Sendable (String) -> Void)?
        if debug {
            // Straight to stderr: asking for --debug overrides --quiet's silence.
            trace = { @Sendable (line: String) -> Void in logToStderr("debug: " + line) }
        }
        return transfer.stack(trust: trust, log: log, trace: trace)
    }

    /// The files the operator named, checked before any request; the password read once.
    private func credentials(for registries: [String]) throws -> CredentialStore {
        if let authfile { try CredentialStore.checkNamedAuthFile(authfile) }
        try trust.checkNamedFiles()
        var store = CredentialStore.standard(authFile: authfile)
        if let username {
            let password = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .newlines)
            for registry in registries {
                store.explicit[registry] = RegistryCredential(secret: .password(username: username, password: password), source: "--username/--password-stdin")
            }
        }
        return store
    }

    /// The client for the one registry push and audit talk to.
    func client(for registry: String, debug: Bool, log: @escaping @Sendable (String) -> Void) throws -> RegistryClient {
        let hosts = RegistryHosts(insecure: Set(insecureRegistries + (plainHTTP ? [registry] : [])))
        return RegistryClient(endpoint: hosts.endpoint(for: registry), stack: stack(debug: debug, log: log),
                              credentials: try credentials(for: [registry]))
    }

    /// The clients lock and pack pull through: one per registry the spec names, mirrors applied.
    func pool(registries: Set<String>, mirrors: [String: URL], debug: Bool, log: @escaping @Sendable (String) -> Void) throws -> RegistryPool {
        if username != nil, registries.count > 1 {
            throw ValidationError("--username: the spec's images come from \(registries.sorted().joined(separator: ", ")); one password cannot go to all of them: put each registry's credentials in an auth file (--authfile)")
        }
        let hosts = RegistryHosts(mirrors: mirrors, insecure: Set(insecureRegistries + (plainHTTP ? registries : [])))
        // Credentials are looked up by what is contacted: a mirror's host, when there is one.
        let contacted = registries.map { hosts.endpoint(for: $0).credentialKey }
        return RegistryPool(hosts: hosts, stack: stack(debug: debug, log: log), credentials: try credentials(for: contacted))
    }

    /// These options as flags for another airgap command (push prints the audit to run next).
    var arguments: [String] {
        var words = caFiles.flatMap { ["--ca-file", $0] } + (certDirectories + certsDirectoriesAlias).flatMap { ["--cert-dir", $0] }
        words += (authfile.map { ["--authfile", $0] } ?? []) + (plainHTTP ? ["--plain-http"] : [])
        words += insecureRegistries.flatMap { ["--insecure-registry", $0] } + (tlsVerify && !insecureAlias ? [] : ["--tls-verify=false"])
        words += username.map { ["--username", $0, "--password-stdin"] } ?? []
        return words
    }
}

/// How long and how often to try: the same two flags on every command that talks to the network.
struct TransferOptions: ParsableArguments {
    @Option(name: .customLong("retry-times"), help: "Attempts for a request that fails with 429, 5xx or a broken connection.")
    var retryTimes: Int = 5

    @Option(help: ArgumentHelp("Give up on one transfer (a manifest, blob, JAR or chart, retries included) after this long; a transfer below 1 KiB/s for 30s (or a quarter of the timeout) has stalled and is tried once more.", valueName: "SECONDS"))
    var timeout: Double = TransferLimits.defaultTimeout

    func validate() throws {
        guard retryTimes >= 1 else { throw ValidationError("--retry-times must be at least 1") }
        guard timeout >= 1, timeout.isFinite else { throw ValidationError("--timeout must be at least 1 second") }
    }

    func stack(trust: TLSTrust, log: @escaping @Sendable (String) -> Void, trace: (@Sendable (String) -> Void)?) -> TransportStack {
        TransportStack(trust: trust, limits: TransferLimits(timeout: timeout), retry: RetryPolicy(attempts: retryTimes), onRetry: log, trace: trace)
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

    @Option(name: .customLong("mirror"), help: ArgumentHelp("Fetch REGISTRY's images from URL instead (REGISTRY=URL); the bundle still names REGISTRY.", valueName: "REGISTRY=URL"))
    var mirrors: [String] = []

    @OptionGroup var registry: RegistryOptions
    @OptionGroup var jobs: JobsOptions

    var lockPath: String { lock ?? LockfileStore.defaultPath(forSpec: spec) }

    func validate() throws {
        for mirror in mirrors {
            do {
                let (_, url) = try RegistryHosts.parseMirror(mirror)
                if url.hasUserInfo { throw ValidationError("--mirror: " + BundleSpec.userInfoFix(url, credentials: "in an auth file (`podman login`, --authfile)")) }
            } catch let error as ValidationError { throw error } catch { throw ValidationError("\(error)") }
        }
        guard let mavenRepository else { return }
        guard let url = URL(string: mavenRepository), url.host != nil, url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--maven-repo \(URL(string: mavenRepository)?.withoutUserInfo.absoluteString ?? "<url>"): expected an http(s) URL")
        }
        if url.hasUserInfo {
            throw ValidationError("--maven-repo: " + BundleSpec.userInfoFix(url, credentials: "in AIRGAP_MAVEN_USERNAME/AIRGAP_MAVEN_PASSWORD or ~/.netrc"))
        }
    }

    /// The spec and a resolver wired with these options.
    func resolver(debug: Bool, log: @escaping @Sendable (String) -> Void) throws -> (BundleSpec, BundleResolver) {
        let bundleSpec = try BundleSpec.load(path: spec)
        var mirrorURLs = bundleSpec.mirrors
        for mirror in mirrors {
            let (name, url) = try RegistryHosts.parseMirror(mirror)
            mirrorURLs[name] = url
        }
        let pool = try registry.pool(registries: bundleSpec.registries, mirrors: mirrorURLs, debug: debug, log: log)
        let store = try BlobStore(root: cache ?? Self.defaultCache())
        var resolver = BundleResolver(pool: pool, cache: store, mavenRepository: mavenRepository.flatMap(URL.init(string:)),
                                      allowUnverified: allowUnverified, log: log)
        resolver.workers = WorkerPool(width: jobs.jobs)
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

/// `--jobs`, one meaning and one default for lock, pack and push: the bound on requests and
/// transfers in flight (`WorkerPool`).
struct JobsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Requests in flight at once: manifest fetches, existence checks, blob transfers, manifest PUTs (\(WorkerPool.jobsRange.lowerBound)-\(WorkerPool.jobsRange.upperBound)). The default, \(WorkerPool.defaultJobs), is the same for lock, pack and push: transfers wait on round trips, not on cores, and \(WorkerPool.defaultJobs) keeps each on a reused connection without crowding the registry.", valueName: "N"))
    var jobs = WorkerPool.defaultJobs

    func validate() throws {
        guard WorkerPool.jobsRange.contains(jobs) else {
            throw ValidationError("--jobs must be between \(WorkerPool.jobsRange.lowerBound) and \(WorkerPool.jobsRange.upperBound)")
        }
    }
}

/// What a command prints and how: the same four flags on every command.
struct OutputOptions: ParsableArguments {
    enum ProgressChoice: String, ExpressibleByArgument, CaseIterable { case auto, tty, plain, none }

    @Flag(help: "Print exactly one JSON document on stdout (a failure too, as {\"error\": …}); shapes in schemas/ and the README.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing on success: no progress, summary or warnings. A failure still prints its one line on stderr.")
    var quiet = false

    /// `-v` as well, as skopeo and oras spell it: the word users try first when a registry misbehaves.
    @Flag(name: [.customLong("debug"), .customShort("v")], help: "Print each HTTP request on stderr: method, URL (no user info, no secret query values), status, bytes, time, and retry decisions; never headers, credentials or tokens.")
    var debug = false

    @Option(help: ArgumentHelp("Progress on stderr: auto (tty on a terminal, plain lines otherwise, none with --json), tty (one line redrawn), plain (a line every 10 s or 10 %, then a summary), none.", valueName: "auto|tty|plain|none"))
    var progress: ProgressChoice = .auto

    var progressStyle: ProgressStyle {
        if quiet { return .none }
        switch progress {
        case .auto: return json ? .none : TransferProgress.stderrIsTerminal ? .tty : .plain
        case .tty: return .tty
        case .plain: return .plain
        case .none: return .none
        }
    }

    /// The run's progress reporter, for the verb named `label`.
    func reporter(for label: String) -> TransferProgress {
        TransferProgress(label: label, style: progressStyle)
    }

    /// JSON escapes every control character itself, so it is terminal-safe as it is.
    func printJSON<T: Encodable>(_ value: T) throws {
        FileHandle.standardOutput.write(try JSONDocument(value).data())
    }

    /// A line of the result, on stdout: not with `--quiet`, nor with `--json` (whose document
    /// is the result). Escaped: names and messages from a registry, a repository or a bundle
    /// may hold escape sequences, CR/LF or NUL.
    func say(_ line: String) {
        guard !quiet, !json else { return }
        print(TerminalText.escape(line))
    }

    /// Warnings and retry notices, on stderr; `--quiet` keeps them back (a failure still prints).
    var log: @Sendable (String) -> Void {
        if quiet { return { _ in } }
        return logToStderr
    }
}

/// Flink compatibility findings, printed as warnings by `lock` and `pack`: `audit` is the gate.
func warnAboutCompatibility(_ lock: Lockfile, log: (String) -> Void) {
    for finding in Auditor.compatibilityFindings(lock) {
        log("warning: \(finding.id) \(finding.artifact): \(finding.message); fix: \(finding.fix)")
    }
}

/// Warnings and retry notices go to stderr, one line each, escaped: they quote servers and files.
let logToStderr: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data("airgap: \(TerminalText.escape(line))\n".utf8))
}

extension BundleEntry.Kind {
    /// The kind as a column of `pack` and `push` output: padded, never cut short.
    var label: String { rawValue.count >= 9 ? rawValue : rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) }
}
