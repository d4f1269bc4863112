import Foundation
import Manifests

/// What goes into a bundle: the `index.json` entries and every blob they reach.
public struct LayoutContents: Sendable {
    /// The `index.json` entries, each naming its reference in `org.opencontainers.image.ref.name`.
    public var entries: [Descriptor]
    /// Every blob (manifests, indexes, configs, layers) with its size.
    public var blobs: [Digest: Int64]
    /// The lockfile to carry beside the layout, if any.
    public var lockFile: Data?
    /// The lock's signature and the SBOM, carried beside it when present.
    public var lockSignature: Data?
    public var sbom: Data?

    public init(entries: [Descriptor], blobs: [Digest: Int64], lockFile: Data? = nil, lockSignature: Data? = nil, sbom: Data? = nil) {
        self.entries = entries
        self.blobs = blobs
        self.lockFile = lockFile
        self.lockSignature = lockSignature
        self.sbom = sbom
    }

    /// `index.json` as written: entries sorted by reference name, canonical JSON.
    public func indexDocument() throws -> Data {
        let sorted = entries.sorted {
            ($0.annotations?[AnnotationKey.refName] ?? "", $0.digest) < ($1.annotations?[AnnotationKey.refName] ?? "", $1.digest)
        }
        return try JSONEncoder.canonical().encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: sorted))
    }
}

/// Writes an OCI image layout as one plain tar, byte for byte the same for the same contents:
/// `oci-layout`, `index.json`, the lockfile, then the blobs sorted by digest. `index.json` comes
/// first so a reader streaming the tar knows the graph before the blobs go by.
public enum LayoutArchiveWriter {
    public static let layoutDocument = Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// Writes to a temporary name beside `path` and renames it only when complete and synced.
    /// Returns the SHA-256 of the whole tar.
    @discardableResult
    public static func write(
        _ contents: LayoutContents, from store: BlobStore, to path: String, fresh: Set<Digest> = [],
        progress: (Int64) -> Void = { _ in }
    ) throws -> Digest {
        let (pending, digest) = try prepare(contents, from: store, to: path, fresh: fresh, progress: progress)
        try pending.publish()
        return digest
    }

    /// Writes and syncs the tar under a temporary name beside `path`, leaving the rename to the
    /// caller (who puts the checksum file beside it in the right order). Each blob taken from the
    /// store is re-hashed on its way into the tar, so a damaged cache can never produce a bundle
    /// that looks whole (`CachedBlobDamaged` names it); `fresh` names blobs that were hashed as
    /// they arrived in this same run and need no second look.
    public static func prepare(
        _ contents: LayoutContents, from store: BlobStore, to path: String, fresh: Set<Digest> = [],
        progress: (Int64) -> Void = { _ in }
    ) throws -> (PendingFile, Digest) {
        let archiveHasher = SHA256Hasher()
        let (pending, _) = try AtomicFile.prepare(to: path) { file in
            try writeTar(contents, from: store, into: TarWriter(file: file, hasher: archiveHasher), fresh: fresh, progress: progress)
        }
        return (pending, archiveHasher.finalize())
    }

    /// The same tar as `prepare`, byte for byte, cut into parts of at most `maxPartSize` bytes
    /// (`<path>.001`, …), each synced under a temporary name; the caller publishes the set.
    /// Returns the parts and the SHA-256 of the whole tar.
    public static func prepareParts(
        _ contents: LayoutContents, from store: BlobStore, to path: String, maxPartSize: Int64, fresh: Set<Digest> = [],
        progress: (Int64) -> Void = { _ in }
    ) throws -> ([PreparedPart], Digest) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        _ = WorkInProgress.sweepPartials(in: directory)
        let archiveHasher = SHA256Hasher()
        let writer = PartedFileWriter(destination: path, maxPartSize: maxPartSize)
        try writeTar(contents, from: store, into: TarWriter(sink: writer, path: path, hasher: archiveHasher), fresh: fresh, progress: progress)
        return (try writer.finish(), archiveHasher.finalize())
    }

    private static func writeTar(
        _ contents: LayoutContents, from store: BlobStore, into tar: TarWriter, fresh: Set<Digest>, progress: (Int64) -> Void
    ) throws {
        let hasher = SHA256Hasher()
        for entry in try contents.tarEntries() {
            switch entry.content {
            case .directory:
                try tar.addDirectory(entry.name)
            case .bytes(let bytes):
                try tar.addFile(entry.name, contents: bytes)
            case .blob(let digest):
                let source = try FileDescriptor.openForReading(store.path(for: digest))
                let recheck = !fresh.contains(digest)
                try tar.addFile(entry.name, size: entry.size) { write in
                    try source.forEachChunk { chunk in
                        if recheck { hasher.update(chunk) }
                        try write(chunk)
                        progress(Int64(chunk.count))
                    }
                }
                guard recheck else { continue }
                let actual = hasher.finalize()
                guard actual == digest else {
                    throw CachedBlobDamaged(digest: digest, path: source.path, actual: actual)
                }
            }
        }
        try tar.finish()
    }
}
