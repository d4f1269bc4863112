import Foundation
import Manifests
import OCILayout

/// Where a blob of the bundle comes from.
enum BlobOrigin: Sendable {
    struct Registry: Sendable {
        var registry: String
        var repository: String
        var descriptor: Descriptor
    }

    /// A manifest or index held in memory since resolution.
    case document(Data)
    /// The cache; `refetch` names where to get it again if the cached copy turns out damaged.
    case cache(refetch: Registry?)
    case registry(Registry)
}

/// What writing the tarball produced, for the summary.
struct WrittenBundle {
    var checksum: Digest
    var bytes: Int64
    var parts: [String]?
    var downloaded: Int
    var bytesDownloaded: Int64
}

extension Packer {
    /// Writes each blob once, into its place: the tar's layout is known before any download
    /// (entries sorted, every size from the manifests), so `--jobs` downloads run at once, each
    /// into its own range of the output, hashed as its bytes arrive; a read-behind pass hashes
    /// the tar front to back as the filled prefix grows. Once the tarball is synced, what was
    /// downloaded is put in the cache by an in-kernel copy (no second pass through memory); a
    /// cached blob is read once, re-hashed, into its place.
    func writePlaced(_ layout: TarLayout, resolved: ResolvedBundle, documents: [Digest: Data],
                     sources: [Digest: BlobOrigin.Registry], sbom: Data?, to output: String) async throws -> WrittenBundle {
        var fills: [(TarLayout.Placed, Digest, BlobOrigin)] = []
        var downloaded = 0
        var bytesDownloaded: Int64 = 0
        for placed in layout.placed {
            guard case .blob(let digest) = placed.entry.content else { continue }
            let origin: BlobOrigin
            if let data = documents[digest] {
                origin = .document(data)
            } else if useCache, cache.contains(digest, size: placed.entry.size) {
                origin = .cache(refetch: sources[digest])
            } else if let source = sources[digest] {
                origin = .registry(source)
                downloaded += 1
                bytesDownloaded += placed.entry.size
            } else if cache.contains(digest, size: placed.entry.size) {
                origin = .cache(refetch: nil)
            } else {
                throw LayoutError.missingBlob(digest.description)
            }
            fills.append((placed, digest, origin))
        }

        let file = try PlacedTarFile(layout: layout, destination: output, maxPartSize: maxPartSize)
        do {
            return try await fill(file, with: fills, resolved: resolved, sbom: sbom, to: output,
                                  downloaded: downloaded, bytesDownloaded: bytesDownloaded)
        } catch {
            file.discard()
            throw error
        }
    }

    private func fill(_ file: PlacedTarFile, with fills: [(TarLayout.Placed, Digest, BlobOrigin)], resolved: ResolvedBundle, sbom: Data?,
                      to output: String, downloaded: Int, bytesDownloaded: Int64) async throws -> WrittenBundle {
        let layout = file.layout
        try file.writeFixedParts()
        // One phase: downloads and cache copies land in the tarball side by side.
        progress.begin("write", bytes: fills.reduce(Int64(0)) { $0 + $1.0.entry.size }, blobs: fills.count,
                       subject: URL(fileURLWithPath: output).lastPathComponent)
        // The read-behind hash waits on the fills, so it runs beside the --jobs pool, on a
        // thread of its own: inside the pool it could hold the one thread a fill needs.
        let hasher = WorkerPool(width: 1)
        let hashing = Task { try await hasher.run { try file.hashFrontToBack() } }
        let fetched: [Bool]
        do {
            let packer = self
            fetched = try await workers.map(fills) { item, cancellation in
                try packer.fill(item.0, digest: item.1, from: item.2, into: file, cancellation: cancellation)
            }
        } catch {
            file.abandon()
            _ = try? await hashing.value
            throw error
        }
        let (checksum, partDigests) = try await hashing.value
        let configs = Dictionary(layout.placed.map { ($0.entry.name, $0) }, uniquingKeysWith: { first, _ in first })
        for image in resolved.images {
            try checkSinglePlatform(image, config: { digest in
                guard let placed = configs[LayoutPath.blobName(digest)], placed.entry.size <= TransferLimits.manifestLimit else { return nil }
                return try file.read(offset: placed.dataOffset, count: Int(placed.entry.size))
            })
        }
        try await workers.run { try file.sync() }
        // The cache gets what came from registries only now, after the tarball is durable: its
        // copies (in-kernel, from the page cache) never compete with the tarball's writeback.
        if useCache {
            let cache = self.cache
            try await workers.forEach(zip(fills, fetched).filter(\.1).map(\.0)) { item, _ in
                try cache.adopt(item.1) { cached in try file.copy(offset: item.0.dataOffset, count: item.0.entry.size, into: cached) }
            }
        }
        // The SBOM beside the bundle first: when the tarball appears, so has its description.
        if let sbom { try AtomicFile.write(sbom, to: CycloneDX.path(for: output)) }
        if maxPartSize != nil {
            let parts = file.preparedParts(digests: partDigests)
            try BundleChecksum.publish(parts: parts, with: try BundleChecksum.prepare(parts: parts, whole: checksum, for: output), bundle: output)
            return WrittenBundle(checksum: checksum, bytes: layout.totalSize, parts: parts.map(\.file.destination),
                                 downloaded: downloaded, bytesDownloaded: bytesDownloaded)
        }
        try BundleChecksum.publish(file.pendingFile, with: try BundleChecksum.prepare(checksum, for: output))
        return WrittenBundle(checksum: checksum, bytes: layout.totalSize, parts: nil, downloaded: downloaded, bytesDownloaded: bytesDownloaded)
    }

    /// Puts one blob's bytes into its place, checked against its digest on the way. True when
    /// they came from a registry (so the cache lacks them).
    func fill(_ placed: TarLayout.Placed, digest: Digest, from origin: BlobOrigin, into file: PlacedTarFile,
              cancellation: CancellationFlag) throws -> Bool {
        let progress = self.progress
        switch origin {
        case .document(let data):
            let target = PlacedBlob(file: file, placed: placed, digest: digest)
            try data.withUnsafeBytes { try target.write($0) }
            try target.finish()
            progress.advance(Int64(data.count))
            progress.blobDone()
            return false
        case .cache(let refetch):
            let target = PlacedBlob(file: file, placed: placed, digest: digest)
            let path = cache.path(for: digest)
            try FileDescriptor.openForReading(path).forEachChunk { chunk in
                try cancellation.check()
                try target.write(chunk)
                progress.advance(Int64(chunk.count))
            }
            do {
                try target.finish()
                progress.blobDone()
                return false
            } catch LayoutError.digestMismatch(_, _, let actualText) {
                let actual = (try? Digest(parsing: actualText)) ?? digest
                guard let refetch else { throw CachedBlobDamaged(digest: digest, path: path, actual: actual) }
                // The cache is only a cache: this copy goes aside, the registry's takes its place
                // (over bytes the tarball's hash may have seen: `target` tells it so).
                progress.advance(-placed.entry.size)
                let aside = try cache.moveAside(digest)
                resolver.log("cache: \(LayoutPath.blobName(digest)) hashed to \(actual.short), not to its name; moved aside to \(aside) and fetched again")
                try target.reset()
                try download(refetch, into: target, cancellation: cancellation)
                return true
            }
        case .registry(let source):
            try download(source, into: PlacedBlob(file: file, placed: placed, digest: source.descriptor.digest), cancellation: cancellation)
            return true
        }
    }

    private func download(_ source: BlobOrigin.Registry, into target: PlacedBlob, cancellation: CancellationFlag) throws {
        let progress = self.progress
        progress.subject("\(source.registry)/\(source.repository)")
        try resolver.pool.client(for: source.registry).fetchBlob(repository: source.repository, descriptor: source.descriptor, into: target) { bytes in
            try cancellation.check()
            progress.advance(bytes)
        }
        progress.blobDone()
    }
}
