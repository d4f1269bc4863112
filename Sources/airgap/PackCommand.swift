import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

struct Lock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resolve the spec to exact digests and write the lockfile (manifests, JARs and charts; no image layers).",
        discussion: "The lock is written whole or not at all. Run it again to accept upstream changes.")

    @OptionGroup var options: ResolveOptions
    @OptionGroup var outputOptions: OutputOptions

    @Flag(name: .customLong("allow-unresolved"), help: "Write what cannot be resolved (an unreachable upstream) into the lock as unresolved, with the reason, instead of failing. pack refuses such a lock.")
    var allowUnresolved = false

    func run() async throws {
        var (spec, resolver) = try options.resolver(log: logToStderr)
        resolver.allowUnresolved = allowUnresolved
        let resolved = try await resolver.resolve(spec)
        let lock = resolved.lockfile(specDigest: spec.canonicalDigest)
        try LockfileStore.write(lock, to: options.lockPath)
        warnAboutCompatibility(lock)
        if outputOptions.json { return try outputOptions.printJSON(lock) }
        say("wrote \(options.lockPath): \(lock.images.count) images, \(lock.jars.count) JARs, \(lock.charts.count) charts"
              + (lock.unresolved.isEmpty ? "" : "; \(lock.unresolved.count) unresolved"))
    }
}

struct Pack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the spec's images, JARs and chart into one OCI-layout tarball, pinned by the lock.",
        discussion: """
        With no lock, one is written first. With a lock, what upstream serves must still match it, or pack refuses. \
        The tarball is written under a temporary name and renamed when complete; <output>.sha256 is written beside it.
        """)

    @Option(name: .shortAndLong, help: "The tarball to write.")
    var output = "bundle.tar"

    @Option(help: "Blobs downloaded at once.")
    var jobs = 4

    @Option(name: .customLong("sign-key"), help: ArgumentHelp("Sign the bundle's lock with this PEM private key (mode 600) into airgap/bundle.lock.sig, in cosign sign-blob format.", valueName: "KEY.pem"))
    var signKey: String?

    @OptionGroup var options: ResolveOptions
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
    }

    func run() async throws {
        // The key is checked before anything is downloaded.
        let key = try signKey.map(SigningKey.init(path:))
        let (spec, resolver) = try options.resolver(log: logToStderr)
        let progress = TransferProgress(label: "pull ", enabled: outputOptions.showProgress)
        let summary = try await Packer(resolver: resolver, jobs: jobs, progress: progress, signKey: key)
            .pack(spec, specPath: options.spec, lockPath: options.lockPath, to: output)
        if let (lock, _) = try? LockfileStore.load(options.lockPath) { warnAboutCompatibility(lock) }
        if outputOptions.json { return try outputOptions.printJSON(summary) }
        for entry in summary.entries {
            say("\(entry.kind.label) \(entry.reference)  \(entry.digest)  \((entry.platforms ?? []).joined(separator: ","))")
        }
        if let key { say("signed \(LayoutPath.lockSignatureName) with \(key.label)") }
        say("wrote \(CycloneDX.path(for: summary.output)) (CycloneDX 1.5, also inside as \(LayoutPath.sbomName))")
        if summary.lockCreated { say("wrote \(summary.lock)") }
        say("wrote \(summary.output) (\(ByteCount.format(summary.bytes)), sha256:\(summary.sha256.dropFirst(7).prefix(12))…): \(summary.entries.count) entries, \(summary.blobs) blobs, \(summary.blobsDownloaded) downloaded (\(ByteCount.format(summary.bytesDownloaded))), \(summary.blobsFromCache) from cache")
    }
}
