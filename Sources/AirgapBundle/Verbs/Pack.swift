import Foundation
import Manifests
import OCILayout

/// What `airgap pack` reports, as printed by `--json`.
public struct PackSummary: Codable, Sendable {
    public var output: String
    /// SHA-256 of the whole tarball, also written to `<output>.sha256`.
    public var sha256: String
    public var bytes: Int64
    /// The part files, in order, when the tarball was split (`--max-part-size`).
    public var parts: [String]?
    public var lock: String
    /// With `--since`: the base lock's digest and the bytes of the blobs left to it.
    public var deltaBase: String?
    public var externalBlobs: Int?
    public var bytesSaved: Int64?
    /// True when this run wrote the lock (there was none).
    public var lockCreated: Bool
    public var entries: [EntryReport]
    public var blobs: Int
    public var blobsDownloaded: Int
    public var bytesDownloaded: Int64
    public var blobsFromCache: Int
}

/// `airgap pack`: resolve the spec (checking it against the lock, or writing the lock when there
/// is none), fill the cache with whatever it lacks, and write the bundle with the lock inside.
public struct Packer: Sendable {
    public var resolver: BundleResolver
    /// Where downloads and the tarball's writing run: `--jobs` wide, shared with the resolver.
    public let workers: WorkerPool
    /// How many blobs download at once.
    public var jobs: Int { workers.width }
    /// When set, the tarball is written as parts of at most this many bytes (`<output>.001` …).
    public var maxPartSize: Int64?
    public var progress: TransferProgress
    /// `--sign-key`: signs the lock into `airgap/bundle.lock.sig`.
    public var signKey: SigningKey?
    /// `--since OLD.lock`: a delta bundle, without the blobs a bundle packed from that lock holds.
    public var since: DeltaBase?
    /// `--no-cache`: image blobs come from their registries and are not kept; only JARs and
    /// charts (which resolution puts in the cache) are read from it.
    public var useCache = true

    public init(resolver: BundleResolver, jobs: Int = WorkerPool.defaultJobs, progress: TransferProgress, signKey: SigningKey? = nil) {
        self.workers = WorkerPool(width: jobs)
        self.resolver = resolver
        self.resolver.workers = workers
        self.progress = progress
        self.signKey = signKey
    }

    var cache: BlobStore { resolver.cache }

    /// Damaged cache blobs healed in one pack before it gives up: each is moved aside and
    /// fetched again, so only a cache that keeps rotting under us runs out.
    static let healingLimit = 8

    public func pack(_ spec: BundleSpec, specPath: String, lockPath: String, to output: String) async throws -> PackSummary {
        try OutputPath.checkWritable(output, option: "--output")
        if !FileManager.default.fileExists(atPath: lockPath) { try OutputPath.checkWritable(lockPath, option: "--lock") }
        var healed = 0
        while true {
            do {
                return try await packOnce(spec, specPath: specPath, lockPath: lockPath, to: output)
            } catch let damaged as CachedBlobDamaged where healed < Self.healingLimit {
                // The cache is only a cache: the blob goes aside and the pack starts over, which
                // fetches it again (a layer from its registry, a JAR from Maven, a chart rebuilt).
                let aside = try cache.moveAside(damaged.digest)
                resolver.log("cache: \(LayoutPath.blobName(damaged.digest)) hashed to \(damaged.actual.short), not to its name; moved aside to \(aside) and fetched again")
                healed += 1
            }
        }
    }

    private func packOnce(_ spec: BundleSpec, specPath: String, lockPath: String, to output: String) async throws -> PackSummary {
        progress.begin("resolve", bytes: 0, subject: specPath)
        let resolved: ResolvedBundle
        let lockData: Data
        let lockCreated: Bool
        if let (lock, data) = try LockfileStore.load(lockPath) {
            try LockfileStore.checkUsable(lock, for: spec, specPath: specPath, lockPath: lockPath)
            resolved = try await resolver.resolve(spec, pinnedBy: lock)
            try LockfileStore.checkPins(lock, against: resolved.lockfile(specDigest: spec.canonicalDigest), lockPath: lockPath)
            (lockData, lockCreated) = (data, false)
        } else {
            resolved = try await resolver.resolve(spec)
            lockData = try LockfileStore.write(resolved.lockfile(specDigest: spec.canonicalDigest), to: lockPath)
            lockCreated = true
        }
        var summary = try await write(resolved, lock: lockData, to: output)
        summary.lock = lockPath
        summary.lockCreated = lockCreated
        return summary
    }

    /// Writes the tarball (then `<output>.sha256`): each blob downloaded straight into its place
    /// (or copied from the cache), the tar hashed as its filled prefix grows. A tar that plain
    /// ustar cannot describe (a blob of 8 GiB or more) is streamed through libarchive from the
    /// cache instead, as before.
    public func write(_ resolved: ResolvedBundle, lock: Data?, to output: String) async throws -> PackSummary {
        let entries = resolved.entries
        // Which repository to fetch each blob from: the first entry that names it.
        var sources: [Digest: BlobOrigin.Registry] = [:]
        var sizes: [Digest: Int64] = [:]
        var documents: [Digest: Data] = [:]
        for entry in entries {
            for (digest, data) in entry.documents {
                documents[digest] = data
                sizes[digest] = Int64(data.count)
            }
            for blob in entry.blobs {
                sizes[blob.digest] = blob.size
                if let registry = entry.registry, sources[blob.digest] == nil {
                    sources[blob.digest] = BlobOrigin.Registry(registry: registry.name, repository: registry.repository, descriptor: blob)
                }
            }
        }
        // A delta leaves the base's blobs out of the tarball (and so need not download them): the
        // seam where the tarball's list of blobs is decided, nothing below here knows of deltas.
        let delta = since.map { base in LockedDelta(base: base.lockDigest, external: base.external(for: entries)) }
        for blob in delta?.external ?? [] {
            sizes[blob.digest] = nil
            sources[blob.digest] = nil
        }
        let lock = try delta.map { delta in try Self.deltaLock(lock, delta: delta) } ?? lock
        for (digest, size) in sizes where documents[digest] == nil && sources[digest] == nil && !cache.contains(digest, size: size) {
            throw LayoutError.missingBlob(digest.description)
        }

        let indexEntries = entries.map { entry -> Descriptor in
            var descriptor = entry.descriptor
            descriptor.annotations = [AnnotationKey.refName: entry.reference]
            return descriptor
        }
        // The SBOM and the signature are functions of the lock's bytes: made before the
        // tarball, so a failure leaves nothing behind.
        let sbom = try lock.map { try CycloneDX.document(for: Lockfile.decode($0, path: LayoutPath.lockFileName), lockData: $0) }
        let signature = try lock.flatMap { data in try signKey.map { try BundleSignature.sign(data, with: $0) } }
        let contents = LayoutContents(entries: indexEntries, blobs: sizes, lockFile: lock, lockSignature: signature, sbom: sbom)

        let written: WrittenBundle
        if let layout = TarLayout(try contents.tarEntries()) {
            written = try await writePlaced(layout, resolved: resolved, documents: documents, sources: sources, sbom: sbom, to: output)
        } else {
            written = try await writeStreamed(contents, resolved: resolved, documents: documents, sources: sources, sbom: sbom, to: output)
        }
        let upstream = Dictionary(resolved.images.map { ($0.spec.reference.description, $0) }, uniquingKeysWith: { first, _ in first })
        return PackSummary(
            output: output, sha256: written.checksum.description, bytes: written.bytes, parts: written.parts, lock: "",
            deltaBase: delta?.base.description, externalBlobs: delta?.external.count, bytesSaved: delta?.savedBytes, lockCreated: false,
            entries: entries.map { entry in
                var report = EntryReport(entry, sizes: sizes)
                report.upstreamDigest = upstream[entry.reference]?.upstream.digest.description
                return report
            },
            blobs: sizes.count, blobsDownloaded: written.downloaded, bytesDownloaded: written.bytesDownloaded,
            blobsFromCache: sources.count - written.downloaded)
    }

    /// The streaming writer: what the cache lacks is downloaded into it, then the tar is written
    /// from the cache through libarchive (every blob written twice). Only for tars plain ustar
    /// cannot lay out.
    private func writeStreamed(_ contents: LayoutContents, resolved: ResolvedBundle, documents: [Digest: Data],
                               sources: [Digest: BlobOrigin.Registry], sbom: Data?, to output: String) async throws -> WrittenBundle {
        let pool = resolver.pool, cache = self.cache, progress = self.progress
        for data in documents.values { try cache.put(data) }
        let missing = sources.values.filter { !cache.contains($0.descriptor.digest, size: $0.descriptor.size) }
            .sorted { $0.descriptor.digest < $1.descriptor.digest }
        let downloadBytes = missing.reduce(Int64(0)) { $0 + $1.descriptor.size }
        progress.begin("download", bytes: downloadBytes, blobs: missing.count)
        try await workers.forEach(missing) { source, cancellation in
            progress.subject("\(source.registry)/\(source.repository)")
            try pool.client(for: source.registry).fetchBlob(
                repository: source.repository, descriptor: source.descriptor, into: cache
            ) { bytes in
                try cancellation.check()
                progress.advance(bytes)
            }
            progress.blobDone()
        }
        for image in resolved.images { try checkSinglePlatform(image, config: { try cache.read($0) }) }
        progress.begin("write", bytes: contents.blobs.values.reduce(0, +), subject: URL(fileURLWithPath: output).lastPathComponent)
        let fresh = Set(missing.map(\.descriptor.digest))
        if let maxPartSize {
            let (written, digest) = try await workers.run {
                try LayoutArchiveWriter.prepareParts(contents, from: cache, to: output, maxPartSize: maxPartSize, fresh: fresh,
                                                     progress: progress.advance)
            }
            // The SBOM beside the bundle first: when the tarball appears, so has its description.
            if let sbom { try AtomicFile.write(sbom, to: CycloneDX.path(for: output)) }
            try BundleChecksum.publish(parts: written, with: try BundleChecksum.prepare(parts: written, whole: digest, for: output), bundle: output)
            return WrittenBundle(checksum: digest, bytes: written.reduce(0) { $0 + $1.size }, parts: written.map(\.file.destination),
                                 downloaded: missing.count, bytesDownloaded: downloadBytes)
        }
        let (tarball, digest) = try await workers.run {
            try LayoutArchiveWriter.prepare(contents, from: cache, to: output, fresh: fresh, progress: progress.advance)
        }
        if let sbom { try AtomicFile.write(sbom, to: CycloneDX.path(for: output)) }
        try BundleChecksum.publish(tarball, with: try BundleChecksum.prepare(digest, for: output))
        return WrittenBundle(checksum: digest, bytes: FileDescriptor.size(atPath: output) ?? 0, parts: nil,
                             downloaded: missing.count, bytesDownloaded: downloadBytes)
    }

    /// The lock a delta carries: the spec's lock, plus which base it builds on and what it leaves
    /// out. Canonical bytes, so the same spec, lock and base always give the same bundle.
    static func deltaLock(_ data: Data?, delta: LockedDelta) throws -> Data {
        guard let data else { throw DeltaError.noBaseLock(path: LayoutPath.lockFileName) }
        var lock = try Lockfile.decode(data, path: LayoutPath.lockFileName)
        lock.delta = delta
        return try lock.encoded()
    }

    /// A single-manifest image asked for with an explicit platform must really be that platform:
    /// its config says which.
    func checkSinglePlatform(_ image: ResolvedImage, config read: (Digest) throws -> Data?) throws {
        guard image.spec.platformsExplicit, case .some(let wanted) = image.spec.platforms, wanted.count == 1,
              MediaType.isManifest(image.upstream.mediaType),
              let manifestData = image.documents[image.upstream.digest],
              case .manifest(let manifest) = try ManifestDocument(decoding: manifestData, mediaType: image.upstream.mediaType)
        else { return }
        struct ConfigPlatform: Decodable { var os: String?; var architecture: String?; var variant: String? }
        guard let data = try? read(manifest.config.digest), let config = try? JSONDecoder().decode(ConfigPlatform.self, from: data),
              let os = config.os, let architecture = config.architecture
        else { return }
        let actual = Platform(os: os, architecture: architecture, variant: config.variant)
        if !wanted[0].accepts(actual) {
            throw ResolveError.singlePlatformImage(reference: image.spec.reference.description,
                                                   wanted: wanted[0].description, actual: actual.description)
        }
    }
}

