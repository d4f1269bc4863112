import Foundation
import Manifests
#if canImport(Glibc)
import Glibc
#endif

/// A tar laid out by `TarLayout`, written by position: created at its final size under
/// temporary names (one file, or parts of at most `maxPartSize` bytes), filled in any order by
/// several threads at once, and hashed front to back by one reader that follows the filled
/// prefix ("read-behind"), so the whole-file and per-part checksums cost no second pass over the
/// disk and each byte is written once. Released unpublished, every temporary is removed.
public final class PlacedTarFile: @unchecked Sendable {
    public let layout: TarLayout
    public let destination: String
    public let maxPartSize: Int64?
    let pending: [PendingFile]
    let file: PartedFile

    private let condition = NSCondition()
    /// Everything below this offset is written; filled ranges beyond it are kept merged (one
    /// per blob still arriving), by start and by end, until the prefix reaches them.
    private var filledUpTo: Int64 = 0
    private var filledAhead: [Int64: Int64] = [:]
    private var filledAheadEnds: [Int64: Int64] = [:]
    private var abandoned = false
    /// Set when bytes already marked filled (and so perhaps hashed) were written again: the
    /// read-behind digest no longer describes the file, and a full pass replaces it.
    private var rewritten = false

    public init(layout: TarLayout, destination: String, maxPartSize: Int64? = nil) throws {
        self.layout = layout
        self.destination = destination
        self.maxPartSize = maxPartSize
        WorkInProgress.sweepPartials(in: URL(fileURLWithPath: destination).deletingLastPathComponent().path)
        var sizes: [Int64] = []
        if let maxPartSize {
            var left = layout.totalSize
            while left > 0 { sizes.append(min(left, maxPartSize)); left -= maxPartSize }
            guard sizes.count <= PartNames.maximumCount else {
                throw LayoutError.archive(path: destination, message: "would need more than \(PartNames.maximumCount) parts of \(maxPartSize) bytes; choose a larger --max-part-size")
            }
        } else {
            sizes = [layout.totalSize]
        }
        var pending: [PendingFile] = []
        var descriptors: [FileDescriptor] = []
        for (index, size) in sizes.enumerated() {
            let target = maxPartSize == nil ? destination : PartNames.path(for: destination, number: index + 1)
            let file = PendingFile(destination: target, temporary: WorkInProgress.partialName(for: target))
            pending.append(file)
            let descriptor = try FileDescriptor(path: file.temporary, flags: O_RDWR | O_CREAT | O_EXCL)
            do {
                try descriptor.allocate(size)
            } catch LayoutError.io(_, _, let code) where code == ENOSPC {
                // Said before any download, with what the run would have needed.
                throw LayoutError.archive(path: destination, message: "the bundle needs \(layout.totalSize) bytes, more than the disk holds free; free space there or pack onto another disk with --output")
            } catch LayoutError.io(_, _, let code) where code == EFBIG {
                throw LayoutError.archive(path: destination, message: "a file of \(size) bytes is larger than this file system allows; split the bundle with --max-part-size (4000M for FAT32)")
            }
            descriptors.append(descriptor)
        }
        self.pending = pending
        self.file = try PartedFile(path: destination, parts: descriptors)
    }

    /// Writes `bytes` at `offset` of the whole tar, across part boundaries.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let position = offset + Int64(done)
            let index = file.partIndex(at: position)
            let within = position - file.starts[index]
            let take = Int(min(Int64(bytes.count - done), file.partSizes[index] - within))
            guard take > 0 else { throw LayoutError.io(path: destination, operation: "write at \(position)", errno: ENOSPC) }
            try file.parts[index].write(UnsafeRawBufferPointer(rebasing: bytes[done..<(done + take)]), at: within)
            done += take
        }
    }

    /// Copies `count` bytes at `offset` of the tar into `target` from its start: in the kernel
    /// where it can (a reflink on file systems that share extents), through memory elsewhere.
    public func copy(offset: Int64, count: Int64, into target: FileDescriptor) throws {
        try target.allocate(count)
        var done: Int64 = 0
        while done < count {
            let position = offset + done
            let index = file.partIndex(at: position)
            let within = position - file.starts[index]
            let take = min(count - done, file.partSizes[index] - within)
            if !(try file.parts[index].copyRange(offset: within, count: take, to: target, at: done)) {
                var written = done
                try file.forEachChunk(offset: position, length: take) { chunk in
                    try target.write(chunk, at: written)
                    written += Int64(chunk.count)
                }
            }
            done += take
        }
    }

    /// Reads `count` bytes at `offset` (a config, to check its platform before publishing).
    public func read(offset: Int64, count: Int) throws -> Data {
        var data = Data(capacity: count)
        try file.forEachChunk(offset: offset, length: Int64(count)) { data.append(contentsOf: $0) }
        return data
    }

    /// Writes every header, every small file, the end-of-archive marker and the last block's
    /// zeros: all of the tar but the blobs' bytes.
    public func writeFixedParts() throws {
        for item in layout.placed {
            var bytes = TarLayout.header(for: item.entry)
            if case .bytes(let contents) = item.entry.content {
                bytes += contents + [UInt8](repeating: 0, count: Int(item.paddedSize - item.entry.size))
            }
            try bytes.withUnsafeBytes { try write($0, at: item.headerOffset) }
            markFilled(offset: item.headerOffset, count: Int64(bytes.count))
        }
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        var position = layout.trailerOffset
        while position < layout.totalSize {
            let take = Int(min(Int64(zeros.count), layout.totalSize - position))
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<take]), at: position) }
            position += Int64(take)
        }
        markFilled(offset: layout.trailerOffset, count: layout.totalSize - layout.trailerOffset)
    }

    /// Records that `offset..<offset+count` holds its final bytes. Each byte is marked once;
    /// a writer that has to write marked bytes again says so with `markRewritten`.
    public func markFilled(offset: Int64, count: Int64) {
        guard count > 0 else { return }
        condition.lock()
        var start = offset, end = offset + count
        if let before = filledAheadEnds.removeValue(forKey: start) {
            filledAhead[before] = nil
            start = before
        }
        if let after = filledAhead.removeValue(forKey: end) {
            filledAheadEnds[after] = nil
            end = after
        }
        if start == filledUpTo {
            filledUpTo = end
            condition.broadcast()
        } else {
            filledAhead[start] = end
            filledAheadEnds[end] = start
        }
        condition.unlock()
    }

    /// Bytes marked filled are being written again (a download that restarts from byte 0, a
    /// damaged cached copy replaced from the registry): the read-behind digest is void, and the
    /// tarball is hashed again, whole, once every byte is final.
    public func markRewritten() {
        condition.lock()
        rewritten = true
        condition.unlock()
    }

    /// Stops the read-behind hash: a fill failed and the file will not be published.
    public func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }

    /// Removes every temporary now: the run failed, and nothing of it may be left behind even if
    /// something still holds this value when the process exits.
    public func discard() {
        abandon()
        for file in pending { file.discard() }
    }

    /// Hashes the tar front to back as its filled prefix grows, starting writeback behind itself
    /// so the final sync finds little to do. Returns when every byte was hashed (the SHA-256 of
    /// the whole tar and of each part), or throws `CancellationError` once `abandon` was called.
    public func hashFrontToBack() throws -> (whole: Digest, parts: [Digest]) {
        let digests = TarDigests(partSizes: file.partSizes)
        var hashed: Int64 = 0
        var writebackFrom: Int64 = 0
        while hashed < layout.totalSize {
            condition.lock()
            while filledUpTo == hashed, !abandoned { condition.wait() }
            let available = filledUpTo
            let stop = abandoned
            condition.unlock()
            if stop { throw CancellationError() }
            try file.forEachChunk(offset: hashed, length: available - hashed, digests.update)
            hashed = available
            if hashed - writebackFrom >= 32 << 20 || hashed == layout.totalSize {
                startWriteback(from: writebackFrom, to: hashed)
                writebackFrom = hashed
            }
        }
        condition.lock()
        let void = rewritten
        condition.unlock()
        guard void else { return digests.finalize() }
        // The second pass, for when the read-behind one saw bytes that were later replaced.
        let again = TarDigests(partSizes: file.partSizes)
        try file.forEachChunk(offset: 0, length: layout.totalSize, again.update)
        return again.finalize()
    }

    /// Asks the kernel to start writing `start..<end` to disk now, without waiting.
    func startWriteback(from start: Int64, to end: Int64) {
        for (index, part) in file.parts.enumerated() {
            let low = max(start, file.starts[index]), high = min(end, file.starts[index] + file.partSizes[index])
            if low < high { part.startWriteback(offset: low - file.starts[index], count: high - low) }
        }
    }

    /// Syncs every part (data before rename, as `AtomicFile` does).
    public func sync() throws {
        for part in file.parts { try part.sync() }
    }

    /// The unsplit tarball, synced under its temporary name, for `BundleChecksum.publish`.
    public var pendingFile: PendingFile { pending[0] }

    /// The parts, synced under their temporary names, with the digests `hashFrontToBack` gave.
    public func preparedParts(digests: [Digest]) -> [PreparedPart] {
        zip(pending, zip(digests, file.partSizes)).map { PreparedPart(file: $0, digest: $1.0, size: $1.1) }
    }
}

/// The SHA-256 of a whole tar and, when it is split, of each part. An unsplit tarball's one part
/// is the tarball: its digest is the whole one, not a second pass over the same bytes.
private struct TarDigests {
    let whole = SHA256Hasher()
    let parts: PartDigester?

    init(partSizes: [Int64]) {
        parts = partSizes.count > 1 ? PartDigester(partSizes: partSizes) : nil
    }

    func update(_ chunk: UnsafeRawBufferPointer) {
        whole.update(chunk)
        parts?.update(chunk)
    }

    func finalize() -> (whole: Digest, parts: [Digest]) {
        let digest = whole.finalize()
        return (digest, parts?.digests ?? [digest])
    }
}

/// One blob being downloaded straight into its place in a `PlacedTarFile`, hashed as it
/// arrives. Its bytes are marked filled as they land (every `markInterval`), so the
/// read-behind hash follows a download instead of waiting for it; all but the last bytes, which
/// `finish` marks with the padding once size and digest are right: the tarball's hash cannot
/// end before every blob has been checked, and a blob that fails leaves an unpublished file.
public final class PlacedBlob {
    public let file: PlacedTarFile
    public let placed: TarLayout.Placed
    public let digest: Digest
    private let hasher = SHA256Hasher()
    public private(set) var bytesWritten: Int64 = 0
    /// Written bytes are handed to the disk every `writebackInterval` as they arrive, not when
    /// the read-behind hash reaches them: the final fsync then finds little left, however far
    /// behind the hash runs.
    static let writebackInterval: Int64 = 32 << 20
    private var writebackFrom: Int64 = 0
    /// How often the read-behind hash is told of new bytes: seldom enough that waking it costs
    /// nothing, often enough that it hashes from the page cache while the bytes are still there.
    static let markInterval: Int64 = 1 << 20
    /// How many bytes from the start are marked filled; never marked twice.
    private var marked: Int64 = 0

    public init(file: PlacedTarFile, placed: TarLayout.Placed, digest: Digest) {
        self.file = file
        self.placed = placed
        self.digest = digest
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytesWritten + Int64(bytes.count) <= placed.entry.size else {
            throw LayoutError.sizeMismatch(path: digest.description, expected: placed.entry.size, actual: bytesWritten + Int64(bytes.count))
        }
        if bytesWritten < marked { file.markRewritten() }
        try file.write(bytes, at: placed.dataOffset + bytesWritten)
        hasher.update(bytes)
        bytesWritten += Int64(bytes.count)
        if bytesWritten - marked >= Self.markInterval, bytesWritten < placed.entry.size {
            file.markFilled(offset: placed.dataOffset + marked, count: bytesWritten - marked)
            marked = bytesWritten
        }
        if bytesWritten - writebackFrom >= Self.writebackInterval {
            file.startWriteback(from: placed.dataOffset + writebackFrom, to: placed.dataOffset + bytesWritten)
            writebackFrom = bytesWritten
        }
    }

    /// Forgets what was written, for a server that restarts a download from byte 0 (or a cached
    /// copy that failed its digest, replaced from the registry). What was marked stays marked.
    public func reset() throws {
        _ = hasher.finalize()
        bytesWritten = 0
        writebackFrom = 0
    }

    public func finish() throws {
        let size = bytesWritten
        let actual = hasher.finalize()
        guard size == placed.entry.size else {
            throw LayoutError.sizeMismatch(path: digest.description, expected: placed.entry.size, actual: size)
        }
        guard actual == digest else {
            throw LayoutError.digestMismatch(path: digest.description, expected: digest.description, actual: actual.description)
        }
        let padding = Int(placed.paddedSize - size)
        if padding > 0 {
            try [UInt8](repeating: 0, count: padding).withUnsafeBytes { try file.write($0, at: placed.dataOffset + size) }
        }
        file.startWriteback(from: placed.dataOffset + writebackFrom, to: placed.dataOffset + placed.paddedSize)
        file.markFilled(offset: placed.dataOffset + marked, count: placed.paddedSize - marked)
        marked = placed.paddedSize
    }
}
