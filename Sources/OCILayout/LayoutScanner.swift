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

    /// The entry once: a problem that already starts with it (an inner error naming the same
    /// file) is not prefixed again.
    public var description: String {
        problem.hasPrefix("\(entry):") || problem.hasPrefix("\(entry) ") ? problem : "\(entry): \(problem)"
    }
}

/// A bundle as seen in one streaming pass: every blob's true digest and size, and the bytes of
/// the small JSON documents (the layout files, manifests, indexes, configs) needed to walk the
/// graph afterwards. Layers are hashed and dropped as they stream by.
public struct LayoutSnapshot: Sendable {
    public var layoutFile: Data?
    public var indexFile: Data?
    public var lockFile: Data?
    public var lockSignature: Data?
    public var sbom: Data?
    /// Blob sizes by digest; every digest here was checked against the blob's bytes.
    public var blobSizes: [Digest: Int64] = [:]
    /// Where each blob's bytes start in the tar, for readers that come back for one blob. Taken
    /// from libarchive's header positions in the same pass: a tar entry's data ends, padded to
    /// 512 bytes, where the next header (or the end-of-archive marker) starts.
    public var dataOffsets: [Digest: Int64] = [:]
    /// Contents of blobs small enough to be documents (see `LayoutScanner.documentLimit`).
    public var documents: [Digest: Data] = [:]
    public var totalBytes: Int64 = 0
    /// SHA-256 of the whole tarball, when the scan was asked for it and it is one file.
    public var archiveDigest: Digest?
    /// SHA-256 of each part, when the scan was asked for it (one entry for an unsplit tarball).
    public var partDigests: [Digest]?
}

/// Reads a bundle tarball once, front to back, rejecting the first entry that is not a plain
/// file or directory of an OCI layout, or whose bytes do not hash to its name.
public enum LayoutScanner {
    /// Manifests and configs are kilobytes; anything larger is streamed and not kept.
    public static let documentLimit: Int64 = 4 << 20

    /// A tar ends with at least two 512-byte zero blocks, padded with zeros to its record size
    /// (10240 bytes, what airgap, GNU tar and Python write). Anything longer is not padding.
    public static let endOfArchiveLimit: Int64 = 1024 + 10240

    /// With `hashingWholeFile`, the tarball's own SHA-256 is computed in the same pass, on
    /// another thread, into `archiveDigest`. Without `hashingLargeBlobs`, blobs over
    /// `documentLimit` are skipped, not read: a quick look at the graph (documents are still
    /// read and checked), for callers that decide afterwards whether the full pass is needed.
    public static func scan(_ path: String, hashingWholeFile: Bool = false, hashingLargeBlobs: Bool = true,
                            progress: (Int64) -> Void = { _ in }) throws -> LayoutSnapshot {
        let file: PartedFile
        do { file = try PartedFile.openForReading(path) } catch {
            throw LayoutDefect(entry: path, problem: "\(error)")
        }
        return try scan(file, hashingWholeFile: hashingWholeFile, hashingLargeBlobs: hashingLargeBlobs, progress: progress)
    }

    /// Scans an open file from its start; the descriptor stays the caller's, for positional reads.
    public static func scan(_ file: PartedFile, hashingWholeFile: Bool = false, hashingLargeBlobs: Bool = true,
                            progress: (Int64) -> Void = { _ in }) throws -> LayoutSnapshot {
        let path = file.path
        let reader: TarReader
        // One hash per part, from the same read: a split bundle's parts are each checked against
        // their own line of the checksum file, and a one-part file's digest is the tarball's.
        let digester = hashingWholeFile ? PartDigester(partSizes: file.partSizes) : nil
        do { reader = try TarReader(file: file, tap: digester) } catch let error as LayoutError {
            throw LayoutDefect(entry: path, problem: "\(error)")
        }
        var snapshot = LayoutSnapshot()
        var seenNames = Set<String>()
        let hasher = SHA256Hasher()
        // The blob whose data offset is known once the next header's position is.
        var pending: (digest: Digest, size: Int64)?
        func settle(nextHeaderAt position: Int64) {
            guard let blob = pending else { return }
            snapshot.dataOffsets[blob.digest] = position - (blob.size + 511) / 512 * 512
            pending = nil
        }

        while true {
            let header: TarEntryHeader
            do {
                guard let next = try reader.nextEntry() else { break }
                header = next
            } catch {
                throw LayoutDefect(entry: path, problem: "unreadable tar after \(seenNames.count) entries (\(error)); the file is truncated or not a bundle")
            }
            settle(nextHeaderAt: header.headerOffset)
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
                pending = (digest, header.size)
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
            case .lockSignature: snapshot.lockSignature = kept
            case .sbom: snapshot.sbom = kept
            case .blob(let digest):
                guard actual == digest else {
                    throw LayoutDefect(entry: header.name, problem: "content hashes to \(actual), not to its name; the blob was altered or damaged")
                }
                snapshot.blobSizes[digest] = actualSize
                pending = (digest, actualSize)
                if keep, kept.first == UInt8(ascii: "{") { snapshot.documents[digest] = kept }
            case .directory: break
            }
        }
        guard let end = reader.endOfEntries else { throw LayoutDefect(entry: path, problem: "the tar reader stopped before the end") }
        settle(nextHeaderAt: end)
        do {
            try reader.finishTap()
            if let digester {
                snapshot.partDigests = digester.digests
                if file.parts.count == 1 { snapshot.archiveDigest = digester.digests.first }
            }
        } catch {
            throw LayoutDefect(entry: path, problem: "cannot be read to its end (\(error))")
        }
        try checkEndOfArchive(file, entriesEndAt: end)
        return snapshot
    }

    /// The tar as airgap writes it is the only tar accepted: after the last entry, the
    /// end-of-archive marker (two zero blocks) and zero padding, then nothing. Bytes appended
    /// after the marker (a second `index.json`, which `tar --ignore-zeros` would list) and a tar
    /// cut right after its last entry are both refused, with or without a checksum file.
    static func checkEndOfArchive(_ file: PartedFile, entriesEndAt end: Int64) throws {
        let size = try file.size()
        let trailing = size - end
        guard trailing >= 1024 else {
            throw LayoutDefect(entry: file.path, problem: "has no end-of-archive marker after its last entry; the tarball was cut short in transfer, copy it again")
        }
        guard trailing < endOfArchiveLimit, size % 512 == 0 else {
            throw LayoutDefect(entry: file.path, problem: "holds \(trailing - 1024) bytes after its end-of-archive marker; data was appended to the bundle, use the tarball pack wrote")
        }
        var nonZeroAt: Int64?
        var position = end
        try file.forEachChunk(offset: end, length: trailing) { chunk in
            if nonZeroAt == nil, let index = chunk.firstIndex(where: { $0 != 0 }) { nonZeroAt = position + Int64(index) }
            position += Int64(chunk.count)
        }
        if let nonZeroAt {
            throw LayoutDefect(entry: file.path, problem: "holds data at byte \(nonZeroAt), after its end-of-archive marker at \(end); data was appended to the bundle, use the tarball pack wrote")
        }
    }
}
