import Foundation
import Manifests
import OCILayout

/// What `airgap pack` reports, as printed by `--json`.
public struct PackSummary: Codable, Sendable {
    public struct PackedImage: Codable, Sendable {
        public var reference: String
        public var digest: String
        public var mediaType: String
        public var upstreamDigest: String
        public var platforms: [String]
    }

    public var output: String
    /// SHA-256 of the whole tarball, also written to `<output>.sha256`.
    public var sha256: String
    public var bytes: Int64
    public var images: [PackedImage]
    public var blobs: Int
    public var blobsDownloaded: Int
    public var bytesDownloaded: Int64
    public var blobsFromCache: Int
}

/// `airgap pack`: resolve the spec, fill the cache with whatever it lacks, and write the bundle.
public struct Packer: Sendable {
    public var pool: RegistryPool
    public var cache: BlobStore
    /// How many blobs download at once.
    public var jobs: Int
    public var progress: TransferProgress

    public init(pool: RegistryPool, cache: BlobStore, jobs: Int = 4, progress: TransferProgress) {
        self.pool = pool
        self.cache = cache
        self.jobs = jobs
        self.progress = progress
    }

    public func pack(_ spec: BundleSpec, to output: String) async throws -> PackSummary {
        let resolver = ImageResolver(pool: pool)
        var images: [ResolvedImage] = []
        for image in spec.images {
            images.append(try await offload { try resolver.resolve(image) })
        }
        return try await write(images, to: output)
    }

    /// Downloads what the cache lacks and writes the tarball (then `<output>.sha256`).
    public func write(_ images: [ResolvedImage], to output: String) async throws -> PackSummary {
        let pool = self.pool, cache = self.cache, progress = self.progress
        // Which repository to fetch each blob from: the first image that names it.
        var sources: [Digest: (registry: String, repository: String, descriptor: Descriptor)] = [:]
        var sizes: [Digest: Int64] = [:]
        for image in images {
            for (digest, data) in image.documents {
                try cache.put(data)
                sizes[digest] = Int64(data.count)
            }
            for blob in image.blobs where sources[blob.digest] == nil {
                sources[blob.digest] = (image.spec.reference.registry, image.spec.reference.repository, blob)
                sizes[blob.digest] = blob.size
            }
        }
        let missing = sources.values.filter { !cache.contains($0.descriptor.digest, size: $0.descriptor.size) }
            .sorted { $0.descriptor.digest < $1.descriptor.digest }
        let downloadBytes = missing.reduce(Int64(0)) { $0 + $1.descriptor.size }
        progress.setTotal(downloadBytes)
        try await forEachConcurrently(missing, width: jobs) { source, cancellation in
            try pool.client(for: source.registry).fetchBlob(
                repository: source.repository, descriptor: source.descriptor, into: cache
            ) { bytes in
                try cancellation.check()
                progress.advance(bytes)
            }
        }
        progress.finish()
        for image in images { try checkSinglePlatform(image) }

        let entries = images.map { image -> Descriptor in
            var entry = image.bundled
            entry.annotations = [AnnotationKey.refName: image.spec.reference.description]
            return entry
        }
        let contents = LayoutContents(entries: entries, blobs: sizes)
        let totalBytes = sizes.values.reduce(0, +)
        let writeProgress = TransferProgress(label: "write", total: totalBytes, enabled: progress.isEnabled)
        let checksum = try await offload {
            try LayoutArchiveWriter.write(contents, from: cache, to: output, fresh: Set(missing.map(\.descriptor.digest)),
                                          progress: writeProgress.advance)
        }
        writeProgress.finish()
        try BundleChecksum.write(checksum, for: output)
        return PackSummary(
            output: output, sha256: checksum.description, bytes: FileDescriptor.size(atPath: output) ?? 0,
            images: images.map { image in
                PackSummary.PackedImage(
                    reference: image.spec.reference.description, digest: image.bundled.digest.description,
                    mediaType: image.bundled.mediaType, upstreamDigest: image.upstream.digest.description,
                    platforms: image.platformManifests.map { $0.platform?.description ?? "unspecified" })
            },
            blobs: sizes.count, blobsDownloaded: missing.count, bytesDownloaded: downloadBytes,
            blobsFromCache: sources.count - missing.count)
    }

    /// A single-manifest image asked for with an explicit platform must really be that platform:
    /// its config says which.
    private func checkSinglePlatform(_ image: ResolvedImage) throws {
        guard image.spec.platformsExplicit, case .some(let wanted) = image.spec.platforms, wanted.count == 1,
              MediaType.isManifest(image.upstream.mediaType),
              let manifestData = image.documents[image.upstream.digest],
              case .manifest(let manifest) = try ManifestDocument(decoding: manifestData, mediaType: image.upstream.mediaType)
        else { return }
        struct ConfigPlatform: Decodable { var os: String?; var architecture: String?; var variant: String? }
        guard let config = try? JSONDecoder().decode(ConfigPlatform.self, from: try cache.read(manifest.config.digest)),
              let os = config.os, let architecture = config.architecture
        else { return }
        let actual = Platform(os: os, architecture: architecture, variant: config.variant)
        if !wanted[0].accepts(actual) {
            throw ResolveError.singlePlatformImage(reference: image.spec.reference.description,
                                                   wanted: wanted[0].description, actual: actual.description)
        }
    }
}

/// The `<bundle>.sha256` file beside a bundle, in `sha256sum -c` format, so the tarball can be
/// checked on any machine, with or without airgap, before it is even opened.
public enum BundleChecksum {
    public static func path(for bundle: String) -> String { bundle + ".sha256" }

    public static func write(_ digest: Digest, for bundle: String) throws {
        let line = "\(digest.encoded)  \(URL(fileURLWithPath: bundle).lastPathComponent)\n"
        try AtomicFile.write(Data(line.utf8), to: path(for: bundle))
    }

    /// The digest the checksum file records, or nil when there is no such file.
    public static func read(for bundle: String) throws -> Digest? {
        let path = path(for: bundle)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let hex = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first,
              let digest = try? Digest(algorithm: .sha256, encoded: String(hex))
        else { throw LayoutDefect(entry: path, problem: "not a sha256sum line; delete it or pack again") }
        return digest
    }
}
