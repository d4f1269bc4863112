import Foundation
import Manifests
#if canImport(Glibc)
import Glibc
#endif

/// A content-addressed directory of blobs, laid out as an OCI layout's `blobs/` folder:
/// `ROOT/blobs/sha256/<hex>`. airgap uses it as its download cache.
///
/// A blob appears under its final name only once its bytes hashed to that name, so a killed
/// download leaves at most an `ingest/` temporary behind. Readers still re-hash what they take
/// out (see `LayoutArchiveWriter`): a disk can rot, and the bundle must not.
public struct BlobStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for directory in ["\(root)/blobs/sha256", "\(root)/ingest"] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw LayoutError.io(path: directory, operation: "mkdir", errno: EACCES)
            }
        }
        // Downloads a killed run left half done: nobody will finish them.
        WorkInProgress.sweepIngests(in: "\(root)/ingest")
    }

    /// Moves a blob that failed its digest out of the way (to `damaged/`, kept for a look, not
    /// used again), so the next fetch puts a good copy in its place. Returns where it went.
    @discardableResult
    public func moveAside(_ digest: Digest) throws -> String {
        let directory = "\(root)/damaged"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let target = "\(directory)/\(digest.encoded).\(Int(Date().timeIntervalSince1970))-\(getpid())"
        guard rename(path(for: digest), target) == 0 else {
            throw LayoutError.io(path: path(for: digest), operation: "rename", errno: errno)
        }
        return target
    }

    public func path(for digest: Digest) -> String {
        "\(root)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }

    /// The stored size of the blob, or nil when the store does not hold it.
    public func size(of digest: Digest) -> Int64? {
        var info = stat()
        guard stat(path(for: digest), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    public func contains(_ digest: Digest, size: Int64) -> Bool { self.size(of: digest) == size }

    /// Stores bytes held in memory (manifests, configs) under their SHA-256.
    @discardableResult
    public func put(_ data: Data) throws -> Digest {
        let digest = Digest.sha256(of: data)
        if contains(digest, size: Int64(data.count)) { return digest }
        let ingest = try BlobIngest(store: self)
        try data.withUnsafeBytes { try ingest.write($0) }
        try ingest.commit(expected: digest, size: Int64(data.count))
        return digest
    }

    /// Stores a file that `body` writes (a packaged chart, say) under the digest of what it wrote.
    public func store(writing body: (FileDescriptor) throws -> Void) throws -> (Digest, Int64) {
        try ingesting(writing: body) { temporary in
            let hasher = SHA256Hasher()
            try FileDescriptor.openForReading(temporary).forEachChunk { hasher.update($0) }
            let size = hasher.byteCount  // before finalize, which starts the count over
            return (hasher.finalize(), size)
        }
    }

    /// Stores a blob whose bytes were already checked against `digest` on their way elsewhere
    /// (into a bundle), written by `body` into a temporary file: the cache is filled without
    /// hashing the bytes a second time. Readers re-hash on use, as for every cached blob.
    public func adopt(_ digest: Digest, writing body: (FileDescriptor) throws -> Void) throws {
        _ = try ingesting(writing: body) { _ in (digest, 0) }
    }

    /// `body` writes a temporary file in ingest/ (removed whatever happens, and by the interrupt
    /// handler), `name` says which digest it is, and it is renamed into place under that digest.
    private func ingesting(writing body: (FileDescriptor) throws -> Void,
                           name: (String) throws -> (Digest, Int64)) throws -> (Digest, Int64) {
        let temporary = "\(root)/ingest/\(getpid())-\(UUID().uuidString)"
        WorkInProgress.shared.add(temporary)
        defer {
            unlink(temporary)
            WorkInProgress.shared.remove(temporary)
        }
        do {
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL)
            try body(file)
        }
        let (digest, size) = try name(temporary)
        guard rename(temporary, path(for: digest)) == 0 else {
            throw LayoutError.io(path: path(for: digest), operation: "rename", errno: errno)
        }
        return (digest, size)
    }

    /// Removes a blob (one that turned out to be unusable, like a "JAR" that is no zip).
    public func remove(_ digest: Digest) {
        unlink(path(for: digest))
    }

    public func read(_ digest: Digest) throws -> Data {
        let path = path(for: digest)
        guard let data = FileManager.default.contents(atPath: path) else { throw LayoutError.missingBlob(digest.description) }
        return data
    }
}

/// A cached blob whose bytes no longer hash to its name (a disk that rotted, a hand that
/// edited): the pack that found it moves it aside and fetches it again.
public struct CachedBlobDamaged: Error, CustomStringConvertible {
    public let digest: Digest
    public let path: String
    public let actual: Digest

    public init(digest: Digest, path: String, actual: Digest) {
        self.digest = digest
        self.path = path
        self.actual = actual
    }

    public var description: String {
        "\(path): the cached blob hashes to \(actual), not to \(digest); it was damaged in the cache"
    }
}

/// A blob being written into a `BlobStore`: bytes are hashed as they are written, and the blob
/// is published under its digest by `commit` only if the hash and size are what was expected.
public final class BlobIngest {
    private let store: BlobStore
    private let temporaryPath: String
    private let file: FileDescriptor
    private let hasher = SHA256Hasher()
    /// A second checksum computed over the same bytes (a Maven `.sha512`/`.sha1` to compare with).
    public let checksum: ChecksumHasher?
    private var committed = false

    public init(store: BlobStore, alsoComputing checksum: ChecksumHasher.Algorithm? = nil) throws {
        self.store = store
        self.checksum = checksum.map(ChecksumHasher.init)
        self.temporaryPath = "\(store.root)/ingest/\(getpid())-\(UUID().uuidString)"
        WorkInProgress.shared.add(temporaryPath)
        self.file = try FileDescriptor(path: temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL)
    }

    deinit {
        if !committed { unlink(temporaryPath) }
        WorkInProgress.shared.remove(temporaryPath)
    }

    /// Bytes written so far: where a resumed download continues from.
    public var bytesWritten: Int64 { hasher.byteCount }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        checksum?.update(bytes)
        try file.write(bytes)
    }

    /// Forgets everything written, for a server that restarts a download from byte 0.
    public func reset() throws {
        _ = hasher.finalize()
        _ = checksum?.finalizeHex()
        try file.truncate(to: 0)
    }

    /// Checks the content and moves it under its digest. The blob is not fsynced: the cache is
    /// re-hashed on use, so a torn write is caught there rather than paid for on every download.
    public func commit(expected: Digest, size expectedSize: Int64?) throws {
        let actualSize = hasher.byteCount
        let actual = hasher.finalize()
        try publish(as: expected, actual: actual, actualSize: actualSize, expectedSize: expectedSize)
    }

    /// Publishes the content under the digest it hashed to; returns that digest and the size.
    public func commitAsComputed() throws -> (Digest, Int64) {
        let size = hasher.byteCount
        let digest = hasher.finalize()
        try publish(as: digest, actual: digest, actualSize: size, expectedSize: size)
        return (digest, size)
    }

    private func publish(as expected: Digest, actual: Digest, actualSize: Int64, expectedSize: Int64?) throws {
        if let expectedSize, actualSize != expectedSize {
            throw LayoutError.sizeMismatch(path: expected.description, expected: expectedSize, actual: actualSize)
        }
        guard actual == expected else {
            throw LayoutError.digestMismatch(path: expected.description, expected: expected.description, actual: actual.description)
        }
        guard rename(temporaryPath, store.path(for: expected)) == 0 else {
            throw LayoutError.io(path: store.path(for: expected), operation: "rename", errno: errno)
        }
        committed = true
    }
}
