import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that readers see either the old content or the whole new one, never a part:
/// a temporary name in the same directory (`.<name>.partial-<pid>-<n>`), fsync, rename, fsync of
/// the directory. If the body throws, the temporary file is removed and the destination is
/// untouched; on SIGINT/SIGTERM it is removed too (`WorkInProgress`), and after SIGKILL the next
/// write into the same directory sweeps it.
public enum AtomicFile {
    public static func write<T>(to destination: String, mode: mode_t = 0o644, _ body: (FileDescriptor) throws -> T) throws -> T {
        let (pending, result) = try prepare(to: destination, mode: mode, body)
        try pending.publish()
        return result
    }

    public static func write(_ data: Data, to destination: String, mode: mode_t = 0o644) throws {
        try write(to: destination, mode: mode) { file in try data.withUnsafeBytes { try file.write($0) } }
    }

    /// Writes and syncs the temporary file, and leaves the rename to the caller: for files that
    /// must appear in a chosen order (a tarball and its checksum file).
    public static func prepare<T>(to destination: String, mode: mode_t = 0o644,
                                  _ body: (FileDescriptor) throws -> T) throws -> (PendingFile, T) {
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        WorkInProgress.sweepPartials(in: directory)
        let pending = PendingFile(destination: destination, temporary: WorkInProgress.partialName(for: destination))
        let file = try FileDescriptor(path: pending.temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        let result = try body(file)
        try file.sync()
        return (pending, result)
    }

    public static func prepare(_ data: Data, to destination: String, mode: mode_t = 0o644) throws -> PendingFile {
        try prepare(to: destination, mode: mode) { file in try data.withUnsafeBytes { try file.write($0) } }.0
    }
}

/// A file written and synced under its temporary name, not yet in place. Released unpublished,
/// it is removed.
public final class PendingFile {
    public let destination: String
    public let temporary: String
    private var published = false

    init(destination: String, temporary: String) {
        self.destination = destination
        self.temporary = temporary
        WorkInProgress.shared.add(temporary)
    }

    deinit {
        if !published { unlink(temporary) }
        WorkInProgress.shared.remove(temporary)
    }

    /// Removes the temporary file now, rather than when the last reference goes.
    public func discard() {
        guard !published else { return }
        unlink(temporary)
        published = true
        WorkInProgress.shared.remove(temporary)
    }

    /// Renames it into place and syncs the directory, so the rename survives a power cut.
    public func publish() throws {
        guard rename(temporary, destination) == 0 else {
            throw LayoutError.io(path: destination, operation: "rename", errno: errno)
        }
        published = true
        WorkInProgress.shared.remove(temporary)
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        if let handle = try? FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY) {
            try? handle.sync()
        }
    }
}
