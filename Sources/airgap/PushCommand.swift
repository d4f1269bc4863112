import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a bundle, then push its images, JARs and chart to the internal registry with digests unchanged.",
        discussion: HelpText.discussion("""
        Nothing is written (to the registry or the chart) before the whole bundle verifies. What the registry \
        already holds is not sent again, so a push killed at any point completes when run again.
        """, examples: [
            ("Push into a registry with its own CA, logged in with podman login", "airgap push bundle.tar --registry registry.internal:5000 --ca-file ca.crt"),
            ("OpenShift's internal registry: a token as password, one project, flat names, the chart filled for it", "oc whoami -t | airgap push bundle.tar --registry default-route-openshift-image-registry.apps.example --username $(oc whoami) --password-stdin --prefix flink --flatten --pull-registry image-registry.openshift-image-registry.svc:5000/flink --chart-out deploy"),
            ("See what would be sent, write nothing", "airgap push bundle.tar --registry registry.internal:5000 --dry-run"),
            ("A registry on plain HTTP, with every request shown", "airgap push bundle.tar --registry 127.0.0.1:5000 --plain-http --debug"),
        ]))

    @Argument(help: "The bundle tarball.")
    var bundle: String

    @Option(help: ArgumentHelp("The internal registry.", valueName: "HOST[:PORT]"))
    var registry: String

    @Option(help: ArgumentHelp("Path prepended to every repository.", valueName: "PATH"))
    var prefix = ""

    @Flag(help: "One path component per repository under the prefix (library/flink -> library-flink), for registries like OpenShift's.")
    var flatten = false

    @OptionGroup var jobsOptions: JobsOptions

    @Option(name: .customLong("chunk-size"), help: ArgumentHelp("Blobs larger than this go up in PATCH chunks of this many bytes (default 128 MiB), so a broken connection costs one chunk.", valueName: "BYTES"))
    var chunkSize: Int64 = RegistryClient.defaultChunkSize

    @Option(name: .customLong("chart-dir"), help: ArgumentHelp("Chart whose files/libs/ receives the locked JARs and which gets values-airgap.yaml.", valueName: "DIR"))
    var chartDirectory: String?

    @Option(name: .customLong("chart-out"), help: ArgumentHelp("Unpack the bundle's own chart into DIR/<name>/ (checked against its digest) with files/libs/ and values-airgap.yaml filled, and the OpenShift mirror sets into DIR/openshift/ unless --openshift-manifests says otherwise: no source checkout needed.", valueName: "DIR"))
    var chartOut: String?

    @Option(name: .customLong("pull-registry"), help: ArgumentHelp("Where pods pull from, when not the --registry pushed to (OpenShift: image-registry.openshift-image-registry.svc:5000/PROJECT); used in values-airgap.yaml and the mirror sets. Its PATH stands for --prefix there.", valueName: "HOST[:PORT][/PATH]"))
    var pullRegistry: String?

    @Option(name: .customLong("max-path-components"), help: ArgumentHelp("Refuse, before any write, a repository name with more path components than N (OpenShift's registry: 2, with --prefix PROJECT --flatten).", valueName: "N"))
    var maxPathComponents: Int?

    @Flag(help: "With --chart-dir: remove JARs from files/libs/ that the lock does not name.")
    var prune = false

    @Option(name: .customLong("openshift-manifests"), help: ArgumentHelp("Write ImageDigestMirrorSet and ImageTagMirrorSet YAML here.", valueName: "DIR"))
    var openshiftManifests: String?

    @Option(help: ArgumentHelp("Where an interrupted chunked upload records its session, so the next push resumes it (default: $XDG_CACHE_HOME/airgap or ~/.cache/airgap; under uploads/).", valueName: "DIR"))
    var cache: String?

    @Option(help: ArgumentHelp("Also check the bundle against this lockfile.", valueName: "PATH"))
    var lock: String?

    @Flag(name: .customLong("dry-run"), help: "Print what would be sent, skipped and written; write nothing.")
    var dryRun = false

    @OptionGroup var registryOptions: RegistryOptions

    @Option(help: ArgumentHelp("Refuse, before any write, a bundle whose airgap/bundle.lock.sig does not verify with this PEM public key.", valueName: "PUB.pem"))
    var key: String?

    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard !registry.contains("/"), !registry.isEmpty else { throw ValidationError("--registry takes HOST[:PORT]; put a path in --prefix") }
        guard chunkSize >= 4096 else { throw ValidationError("--chunk-size must be at least 4096 bytes") }
        guard chartDirectory == nil || chartOut == nil else { throw ValidationError("--chart-dir and --chart-out exclude each other: fill a chart you have, or unpack the bundle's") }
        guard !prune || chartDirectory != nil else { throw ValidationError("--prune works with --chart-dir (--chart-out replaces the chart folder whole)") }
        if let maxPathComponents, maxPathComponents < 1 { throw ValidationError("--max-path-components must be at least 1") }
        if pullRegistry != nil, chartDirectory == nil, chartOut == nil, openshiftManifests == nil {
            throw ValidationError("--pull-registry names where pods pull in values-airgap.yaml and the mirror sets: add --chart-out, --chart-dir or --openshift-manifests")
        }
        do { try naming.checkSyntax() } catch { throw ValidationError("\(error)") }
    }

    var naming: RepositoryNaming { RepositoryNaming(registry: registry, prefix: prefix, flatten: flatten, pullRegistry: pullRegistry) }

    func run() async throws {
        let client = try registryOptions.client(for: registry, debug: outputOptions.debug, log: outputOptions.log)
        var external: (lock: Lockfile, path: String)?
        if let lock {
            guard let (parsed, _) = try LockfileStore.load(lock) else { throw LayoutDefect(entry: lock, problem: "no such lockfile") }
            external = (parsed, lock)
        }
        var options = PushOptions(registry: registry, prefix: prefix, flatten: flatten, jobs: jobsOptions.jobs, dryRun: dryRun,
                                  chartDirectory: chartDirectory, prune: prune,
                                  openshiftManifests: openshiftManifests ?? chartOut.map { "\($0)/openshift" })
        options.naming = naming
        options.chartOut = chartOut
        options.maxPathComponents = maxPathComponents
        options.chunkSize = chunkSize
        options.key = try key.map(VerificationKey.init(path:))
        options.uploadState = "\(cache ?? ResolveOptions.defaultCache())/uploads"
        let started = Date()
        let progress = outputOptions.reporter(for: "push")
        defer { progress.stop() }
        let summary: PushSummary
        do {
            summary = try await Pusher(client: client, progress: progress, log: outputOptions.log).push(bundle, lock: external, options: options)
        } catch {
            throw UnreachableUpstream.wrap(error, entry: "--registry \(registry)", via: nil)
        }
        progress.complete()
        if outputOptions.json { return try outputOptions.printJSON(summary) }
        if dryRun {
            if summary.plan.isEmpty { outputOptions.say("nothing to do: \(registry) holds everything") }
            summary.plan.lines.forEach(outputOptions.say)
            return
        }
        for entry in summary.entries { outputOptions.say("\(entry.kind.label) \(entry.target ?? entry.reference)") }
        for stray in summary.strayJars where !summary.jarsPruned.contains(stray) {
            outputOptions.say("stray: \(chartDirectory ?? "")/files/libs/\(stray) is not in the lock (--prune removes it)")
        }
        outputOptions.say("pushed to \(registry) in \(String(format: "%.1f", Date().timeIntervalSince(started)))s: blobs \(summary.blobsSent) sent (\(ByteCount.format(summary.bytesSent))), \(summary.blobsMounted) mounted, \(summary.blobsSkipped) already there; manifests \(summary.manifestsPut) put, \(summary.manifestsSkipped) already there; verification: \(summary.verification)"
              + (summary.jarsWritten.isEmpty ? "" : "; \(summary.jarsWritten.count) JARs into \(summary.chartDirectory ?? "")/files/libs")
              + (summary.jarsPruned.isEmpty ? "" : ", \(summary.jarsPruned.count) stray removed"))
        if !outputOptions.quiet { nextSteps(summary).split(separator: "\n", omittingEmptySubsequences: false).map(String.init).forEach(outputOptions.say) }
    }

    /// The commands that come next, ready to paste: apply the mirror sets, install the chart
    /// with the values push wrote, audit what is now in the registry.
    func nextSteps(_ summary: PushSummary) -> String {
        var lines = ["", "next:"]
        if !summary.mirrorSets.isEmpty {
            lines.append("  oc apply " + summary.mirrorSets.map { "-f \(shellQuoted($0))" }.joined(separator: " "))
        }
        if let chart = summary.chartDirectory {
            let name = URL(fileURLWithPath: chart).lastPathComponent
            lines.append("  helm install \(name) \(shellQuoted(chart)) -f custom-values.yaml -f \(shellQuoted(chart + "/values-airgap.yaml"))")
        }
        var audit = ["airgap", "audit", "--bundle", bundle] + (lock.map { ["--lock", $0] } ?? [])
        if let chart = summary.chartDirectory { audit += ["--chart-dir", chart] }
        audit += ["--registry", registry] + (prefix.isEmpty ? [] : ["--prefix", prefix]) + (flatten ? ["--flatten"] : [])
        audit += registryOptions.arguments
        lines.append("  " + audit.map(shellQuoted).joined(separator: " "))
        return lines.joined(separator: "\n")
    }
}

/// A word as a POSIX shell reads it back: bare when it is safe, else in single quotes.
func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,")
    if !word.isEmpty, word.unicodeScalars.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
