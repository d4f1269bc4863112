import Foundation
import Manifests
#if canImport(Glibc)
import Glibc
#endif

/// Where a tar's bytes go: one file, or a set of parts.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// A hint that the bytes written so far may go to disk now.
    func startWriteback(offset: Int64, count: Int64)
}

extension FileDescriptor: ByteSink {}

/// The names of a split file's parts: `<name>.001`, `<name>.002`, … Three digits at least, so
/// `cat <name>.0*` and every shell glob list them in order.
public enum PartNames {
    public static let maximumCount = 999

    public static func path(for file: String, number: Int) -> String {
        file + "." + String(repeating: "0", count: max(0, 3 - String(number).count)) + String(number)
    }

    /// The part files beside `file` now, by number (`<name>.` then digits only).
    public static func existing(for file: String) -> [Int: String] {
        let url = URL(fileURLWithPath: file)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var found: [Int: String] = [:]
        for name in names where name.hasPrefix(prefix) {
            let suffix = name.dropFirst(prefix.count)
            guard suffix.count >= 3, suffix.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(suffix), number > 0 else { continue }
            found[number] = directory + "/" + name
        }
        return found
    }
}

/// One part written and synced under its temporary name.
public struct PreparedPart {
    public let file: PendingFile
    public let digest: Digest
    public let size: Int64
}

/// Writes one stream as consecutive parts of at most `maxPartSize` bytes, each under a
/// temporary name, hashed as it is written and synced when full. Nothing is in place until the
/// caller publishes the whole set.
public final class PartedFileWriter: ByteSink {
    public let destination: String
    public let maxPartSize: Int64
    private var finished: [PreparedPart] = []
    private var current: (pending: PendingFile, file: FileDescriptor, hasher: SHA256Hasher)?
    private var writtenInPart: Int64 = 0

    public init(destination: String, maxPartSize: Int64) {
        precondition(maxPartSize > 0)
        self.destination = destination
        self.maxPartSize = maxPartSize
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if current == nil || writtenInPart == maxPartSize { try startPart() }
            let take = Int(min(Int64(rest.count), maxPartSize - writtenInPart))
            let chunk = UnsafeRawBufferPointer(rebasing: rest[0..<take])
            try current!.file.write(chunk)
            current!.hasher.update(chunk)
            writtenInPart += Int64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        }
    }

    public func startWriteback(offset: Int64, count: Int64) {
        // Offsets are the stream's; the part's own tail is what is worth starting.
        guard let current else { return }
        let start = max(0, writtenInPart - count)
        current.file.startWriteback(offset: start, count: writtenInPart - start)
    }

    /// Syncs the last part and returns every part, in order.
    public func finish() throws -> [PreparedPart] {
        try closePart()
        return finished
    }

    private func startPart() throws {
        try closePart()
        let number = finished.count + 1
        guard number <= PartNames.maximumCount else {
            throw LayoutError.archive(path: destination, message: "would need more than \(PartNames.maximumCount) parts of \(maxPartSize) bytes; choose a larger --max-part-size")
        }
        let target = PartNames.path(for: destination, number: number)
        let pending = PendingFile(destination: target, temporary: WorkInProgress.partialName(for: target))
        let file = try FileDescriptor(path: pending.temporary, flags: O_WRONLY | O_CREAT | O_EXCL)
        current = (pending, file, SHA256Hasher())
        writtenInPart = 0
    }

    private func closePart() throws {
        guard let part = current else { return }
        try part.file.sync()
        finished.append(PreparedPart(file: part.pending, digest: part.hasher.finalize(), size: writtenInPart))
        current = nil
    }
}
