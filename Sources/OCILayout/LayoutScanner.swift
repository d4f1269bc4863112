import Foundation
import Manifests

/// What is wrong with a bundle, naming the first bad entry. Everything `verify` can say.
public struct LayoutDefect: Error, CustomStringConvertible, Sendable {
    public let entry: String
    public let problem: String

    public init(entry: String, problem: String) {
        self.entry = entry
        self.problem = problem
    }

    public var description: String { "\(entry): \(problem)" }
}

/// A bundle as seen in one streaming pass: every blob's true digest and size, and the bytes of
/// the small JSON documents (the layout files, manifests, indexes, configs) needed to walk the
/// graph afterwards. Layers are hashed and dropped as they stream by.
public struct LayoutSnapshot: Sendable {
    public var layoutFile: Data?
    public var indexFile: Data?
    public var lockFile: Data?
    /// Blob sizes by digest; every digest here was checked against the blob's bytes.
    public var blobSizes: [Digest: Int64] = [:]
    /// Where each blob's tar header starts, for readers that come back for one blob.
    public var blobOffsets: [Digest: Int64] = [:]
    /// Contents of blobs small enough to be documents (see `LayoutScanner.documentLimit`).
    public var documents: [Digest: Data] = [:]
    public var totalBytes: Int64 = 0
    /// SHA-256 of the whole tarball, when the scan was asked for it.
    public var archiveDigest: Digest?
}

/// Reads a bundle tarball once, front to back, rejecting the first entry that is not a plain
/// file or directory of an OCI layout, or whose bytes do not hash to its name.
public enum LayoutScanner {
    /// Manifests and configs are kilobytes; anything larger is streamed and not kept.
    public static let documentLimit: Int64 = 4 << 20

    /// With `hashingWholeFile`, the tarball's own SHA-256 is computed in the same pass, on
    /// another thread, into `archiveDigest`. Without `hashingLargeBlobs`, blobs over
    /// `documentLimit` are skipped, not read: a quick look at the graph (documents are still
    /// read and checked), for callers that decide afterwards whether the full pass is needed.
    public static func scan(_ path: String, hashingWholeFile: Bool = false, hashingLargeBlobs: Bool = true,
                            progress: (Int64) -> Void = { _ in }) throws -> LayoutSnapshot {
        let reader: TarReader
        do { reader = try TarReader(path: path, wholeFileHasher: hashingWholeFile ? SHA256Hasher() : nil) } catch let error as LayoutError {
            throw LayoutDefect(entry: path, problem: "\(error)")
        }
        var snapshot = LayoutSnapshot()
        var seenNames = Set<String>()
        let hasher = SHA256Hasher()

        while true {
            let header: TarEntryHeader
            do {
                guard let next = try reader.nextEntry() else { break }
                header = next
            } catch {
                throw LayoutDefect(entry: path, problem: "unreadable tar after \(seenNames.count) entries (\(error)); the file is truncated or not a bundle")
            }
            guard let kind = LayoutPath(entryName: header.name) else {
                throw LayoutDefect(entry: header.name, problem: "not part of an OCI layout (hostile or foreign entry); the bundle must be rebuilt")
            }
            let normalized = header.name.hasPrefix("./") ? String(header.name.dropFirst(2)) : header.name
            guard seenNames.insert(normalized.hasSuffix("/") ? String(normalized.dropLast()) : normalized).inserted else {
                throw LayoutDefect(entry: header.name, problem: "appears twice in the tar")
            }
            switch (kind, header.kind) {
            case (.directory, .directory):
                continue
            case (.directory, _), (_, .directory):
                throw LayoutDefect(entry: header.name, problem: "has the wrong entry type for its name")
            case (_, .file):
                break
            default:
                throw LayoutDefect(entry: header.name, problem: "is a link or special file; bundles hold plain files only")
            }

            let keep = header.size <= documentLimit
            if !keep, !hashingLargeBlobs, case .blob(let digest) = kind {
                snapshot.blobSizes[digest] = header.size
                snapshot.blobOffsets[digest] = header.headerOffset
                snapshot.totalBytes += header.size
                continue
            }
            var kept = Data()
            if keep { kept.reserveCapacity(Int(header.size)) }
            do {
                try reader.readData { chunk in
                    hasher.update(chunk)
                    if keep { kept.append(contentsOf: chunk) }
                    progress(Int64(chunk.count))
                }
            } catch {
                throw LayoutDefect(entry: header.name, problem: "cannot be read to its end (\(error)); the bundle is truncated or damaged")
            }
            let actualSize = hasher.byteCount
            let actual = hasher.finalize()
            guard actualSize == header.size else {
                throw LayoutDefect(entry: header.name, problem: "holds \(actualSize) bytes but its header says \(header.size); the bundle is truncated")
            }
            snapshot.totalBytes += actualSize
            switch kind {
            case .layoutFile: snapshot.layoutFile = kept
            case .indexFile: snapshot.indexFile = kept
            case .lockFile: snapshot.lockFile = kept
            case .blob(let digest):
                guard actual == digest else {
                    throw LayoutDefect(entry: header.name, problem: "content hashes to \(actual), not to its name; the blob was altered or damaged")
                }
                snapshot.blobSizes[digest] = actualSize
                snapshot.blobOffsets[digest] = header.headerOffset
                if keep, kept.first == UInt8(ascii: "{") { snapshot.documents[digest] = kept }
            case .directory: break
            }
        }
        do { snapshot.archiveDigest = try reader.wholeFileDigest() } catch {
            throw LayoutDefect(entry: path, problem: "cannot be read to its end (\(error))")
        }
        return snapshot
    }
}
