import Foundation
import Manifests
#if canImport(Glibc)
import Glibc
#endif

/// One logical file stored as consecutive parts (`bundle.tar.001`, `.002`, …), read by position
/// as if the parts were concatenated: a split bundle is read in place, never reassembled. An
/// unsplit file is the one-part case, so every reader of a bundle goes through this one type.
public final class PartedFile: PositionalReader, @unchecked Sendable {
    /// The logical file's name (the bundle's base name for a split bundle).
    public let path: String
    public let parts: [FileDescriptor]
    /// Where each part starts in the logical file.
    public let starts: [Int64]
    public let partSizes: [Int64]
    public let totalSize: Int64

    public init(path: String, parts: [FileDescriptor]) throws {
        precondition(!parts.isEmpty, "a parted file has at least one part")
        self.path = path
        self.parts = parts
        var starts: [Int64] = []
        var sizes: [Int64] = []
        var position: Int64 = 0
        for part in parts {
            let size = try part.size()
            starts.append(position)
            sizes.append(size)
            position += size
        }
        self.starts = starts
        self.partSizes = sizes
        self.totalSize = position
    }

    public static func openForReading(_ path: String) throws -> PartedFile {
        try PartedFile(path: path, parts: [FileDescriptor.openForReading(path)])
    }

    public func size() throws -> Int64 { totalSize }

    /// The index of the part holding byte `offset` (the last part for offsets at the end).
    public func partIndex(at offset: Int64) -> Int {
        var low = 0, high = parts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Fills `buffer` from `offset`, across part boundaries; fewer bytes only at the end of the
    /// last part. Safe to call from several threads at once.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var filled = 0
        var position = offset
        var index = partIndex(at: position)
        while filled < buffer.count, index < parts.count {
            let within = position - starts[index]
            let wanted = Int(min(Int64(buffer.count - filled), partSizes[index] - within))
            if wanted <= 0 { index += 1; continue }
            let count = try parts[index].read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + wanted)]), at: within)
            // A part that shrank under us: stop rather than read the next part's bytes early.
            if count == 0 { break }
            filled += count
            position += Int64(count)
        }
        return filled
    }

    public func adviseSequential() {
        for part in parts { part.adviseSequential() }
    }
}

/// Hashes a stream that runs through consecutive parts: one digest per part, from one pass.
public final class PartDigester: ReadTap, @unchecked Sendable {
    private let sizes: [Int64]
    private var index = 0
    private var doneInPart: Int64 = 0
    private var hasher = SHA256Hasher()
    public private(set) var digests: [Digest] = []

    public init(partSizes: [Int64]) {
        self.sizes = partSizes
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            while index < sizes.count, doneInPart == sizes[index] { closePart() }
            guard index < sizes.count else { return }
            let take = Int(min(Int64(rest.count), sizes[index] - doneInPart))
            hasher.update(UnsafeRawBufferPointer(rebasing: rest[0..<take]))
            doneInPart += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        }
        while index < sizes.count, doneInPart == sizes[index] { closePart() }
    }

    private func closePart() {
        digests.append(hasher.finalize())
        hasher = SHA256Hasher()
        index += 1
        doneInPart = 0
    }
}

/// What a read-ahead tap is fed: every byte of the file, in order.
public protocol ReadTap: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer)
}

extension SHA256Hasher: ReadTap {}
