import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that readers see either the old content or the whole new one, never a part:
/// a temporary name in the same directory, fsync, rename, fsync of the directory. If the body
/// throws, the temporary file is removed and the destination is untouched.
public enum AtomicFile {
    public static func write<T>(to destination: String, mode: mode_t = 0o644, _ body: (FileDescriptor) throws -> T) throws -> T {
        let url = URL(fileURLWithPath: destination)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        let result: T
        do {
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            result = try body(file)
            try file.sync()
        }
        guard rename(temporary, destination) == 0 else {
            throw LayoutError.io(path: destination, operation: "rename", errno: errno)
        }
        renamed = true
        if let directoryHandle = try? FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY) {
            try? directoryHandle.sync()
        }
        return result
    }

    public static func write(_ data: Data, to destination: String, mode: mode_t = 0o644) throws {
        try write(to: destination, mode: mode) { file in try data.withUnsafeBytes { try file.write($0) } }
    }
}
