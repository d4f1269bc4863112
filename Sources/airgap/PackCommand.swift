import AirgapBundle
import ArgumentParser
import Foundation
import Manifests
import OCILayout

struct Lock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resolve the spec to exact digests and write the lockfile (manifests, JARs and charts; no image layers).",
        discussion: HelpText.discussion(
            "The lock is written whole or not at all. Run it again to accept upstream changes.",
            examples: [
                ("Pin airgap.yaml into bundle.lock beside it", "airgap lock --spec airgap.yaml"),
                ("Through a registry mirror, trusting its CA", "airgap lock --mirror docker.io=https://mirror.example:5000 --ca-file mirror-ca.crt"),
                ("Where some upstreams are out of reach: record them as unresolved", "airgap lock --allow-unresolved"),
                ("Show every request made (method, URL, status, bytes, time)", "airgap lock --debug"),
            ]))

    @OptionGroup var options: ResolveOptions
    @OptionGroup var outputOptions: OutputOptions

    @Flag(name: .customLong("allow-unresolved"), help: "Write what cannot be resolved (an unreachable upstream) into the lock as unresolved, with the reason, instead of failing. pack refuses such a lock.")
    var allowUnresolved = false

    func run() async throws {
        try OutputPath.checkWritable(options.lockPath, option: "--lock")
        var (spec, resolver) = try options.resolver(debug: outputOptions.debug, log: outputOptions.log)
        resolver.allowUnresolved = allowUnresolved
        // Resolving reports no bytes, but a long one still says, every 10 s off a terminal, that it runs.
        let progress = outputOptions.reporter(for: "lock")
        defer { progress.stop() }
        progress.begin("resolve", bytes: 0, subject: options.spec)
        let resolved = try await resolver.resolve(spec)
        progress.complete()
        let lock = resolved.lockfile(specDigest: spec.canonicalDigest)
        try LockfileStore.write(lock, to: options.lockPath)
        warnAboutCompatibility(lock, log: outputOptions.log)
        if outputOptions.json { return try outputOptions.printJSON(lock) }
        outputOptions.say("wrote \(options.lockPath): \(lock.images.count) images, \(lock.jars.count) JARs, \(lock.charts.count) charts"
              + (lock.unresolved.isEmpty ? "" : "; \(lock.unresolved.count) unresolved"))
    }
}

struct Pack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the spec's images, JARs and chart into one OCI-layout tarball, pinned by the lock.",
        discussion: HelpText.discussion("""
        With no lock, one is written first. With a lock, what upstream serves must still match it, or pack refuses. \
        The tarball is written under a temporary name and renamed when complete; <output>.sha256 is written beside it.
        """, examples: [
            ("Pack what the lock pins into bundle.tar (and bundle.tar.sha256)", "airgap pack --spec airgap.yaml -o bundle.tar"),
            ("Parts of at most 4 GiB each, for FAT32 media", "airgap pack -o bundle.tar --max-part-size 4G"),
            ("Sign the bundle's lock; the enclave checks it with verify --key", "airgap pack -o bundle.tar --sign-key signing.pem"),
            ("Upstream behind a registry that needs a login and its own CA", "airgap pack -o bundle.tar --authfile auth.json --cert-dir /etc/containers/certs.d/quay.example"),
        ]))

    @Option(name: .shortAndLong, help: "The tarball to write.")
    var output = "bundle.tar"

    @Option(name: .customLong("max-part-size"), help: ArgumentHelp(
        "Write the tarball as parts of at most SIZE bytes (<output>.001, .002, …) for media or transfer limits: 700M, 4G (powers of 1024, at least 1M). `cat <output>.0* > <output>` gives the unsplit tarball.",
        valueName: "size"))
    var maxPartSize: String?

    @Option(name: .customLong("since"), help: ArgumentHelp(
        "Write a delta bundle: every document, but only the layers and JARs that a bundle packed from OLD.lock (the base, already pushed in the enclave) does not hold. The bundle's lock records the base and each blob left out.",
        valueName: "OLD.lock"))
    var since: String?
    @Flag(name: .customLong("no-cache"), help: "Take image blobs from their registries and keep no copy in the cache (JARs and charts still pass through it). The bundle is the same byte for byte.")
    var noCache = false

    @Option(name: .customLong("sign-key"), help: ArgumentHelp("Sign the bundle's lock with this PEM private key (mode 600) into airgap/bundle.lock.sig, in cosign sign-blob format.", valueName: "KEY.pem"))
    var signKey: String?

    @OptionGroup var options: ResolveOptions
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if let maxPartSize { _ = try PartSize.parse(maxPartSize) }
    }

    func run() async throws {
        // The key is checked before anything is downloaded.
        let key = try signKey.map(SigningKey.init(path:))
        let (spec, resolver) = try options.resolver(debug: outputOptions.debug, log: outputOptions.log)
        let progress = outputOptions.reporter(for: "pack")
        defer { progress.stop() }
        var packer = Packer(resolver: resolver, jobs: options.jobs.jobs, progress: progress, signKey: key)
        packer.maxPartSize = try maxPartSize.map(PartSize.parse)
        packer.since = try since.map { try DeltaBase.load($0, cache: resolver.cache, pool: resolver.pool) }
        packer.useCache = !noCache
        let summary = try await packer
            .pack(spec, specPath: options.spec, lockPath: options.lockPath, to: output)
        progress.complete()
        if let (lock, _) = try? LockfileStore.load(options.lockPath) { warnAboutCompatibility(lock, log: outputOptions.log) }
        if outputOptions.json { return try outputOptions.printJSON(summary) }
        for entry in summary.entries {
            outputOptions.say("\(entry.kind.label) \(entry.reference)  \(entry.digest)  \(entry.kind == .image ? entry.platforms.joined(separator: ",") : "")")
        }
        if let key { outputOptions.say("signed \(LayoutPath.lockSignatureName) with \(key.label)") }
        outputOptions.say("wrote \(CycloneDX.path(for: summary.output)) (CycloneDX 1.5, also inside as \(LayoutPath.sbomName))")
        if summary.lockCreated { outputOptions.say("wrote \(summary.lock)") }
        if let base = summary.deltaBase, let saved = summary.bytesSaved {
            outputOptions.say("delta of \(since ?? "") (\(base.prefix(19))…): \(summary.externalBlobs ?? 0) blobs left to the base, \(ByteCount.format(saved)) not carried")
        }
        if let parts = summary.parts { outputOptions.say("wrote \(parts.count) parts: \(parts.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " "))") }
        outputOptions.say("wrote \(summary.output) (\(ByteCount.format(summary.bytes)), sha256:\(summary.sha256.dropFirst(7).prefix(12))…): \(summary.entries.count) entries, \(summary.blobs) blobs, \(summary.blobsDownloaded) downloaded (\(ByteCount.format(summary.bytesDownloaded))), \(summary.blobsFromCache) from cache")
    }
}

/// `--max-part-size`: a number with an optional K, M, G or T (powers of 1024; a trailing `B` or
/// `iB` is accepted), as Hauler's `--chunk-size` and Zarf's `--max-package-size` take it.
enum PartSize {
    /// Below this, a bundle of any real size would need hundreds of parts.
    static let minimum: Int64 = 1 << 20

    static func parse(_ text: String) throws -> Int64 {
        var body = text.uppercased()
        for suffix in ["IB", "B"] where body.hasSuffix(suffix) && body.count > suffix.count { body.removeLast(suffix.count); break }
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var multiplier: Int64 = 1
        if let last = body.last, let unit = units[last] { multiplier = unit; body.removeLast() }
        guard let number = Int64(body), number > 0, number <= Int64.max / multiplier else {
            throw ValidationError("--max-part-size \(text): not a size; write it like 700M or 4G")
        }
        let size = number * multiplier
        guard size >= minimum else {
            throw ValidationError("--max-part-size \(text) is below the minimum of 1M; choose 1M or more (700M for a CD, 4G for FAT32)")
        }
        return size
    }
}
