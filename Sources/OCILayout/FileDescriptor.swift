import CSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open POSIX file, closed when the value is released. Reads and writes in large blocks with
/// `EINTR` handled, so the callers' streaming loops stay short.
public final class FileDescriptor: PositionalReader {
    public let path: String
    public let raw: Int32

    public init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LayoutError.io(path: path, operation: "open", errno: errno) }
        self.path = path
        self.raw = fd
    }

    deinit { close(raw) }

    public static func openForReading(_ path: String) throws -> FileDescriptor {
        try FileDescriptor(path: path, flags: O_RDONLY)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(raw, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw LayoutError.io(path: path, operation: "write", errno: errno)
            }
            offset += written
        }
    }

    /// Writes all of `bytes` at `offset` (pwrite: the file position is untouched, so threads may
    /// fill different parts of one file at once).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(raw, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            if written < 0 {
                if errno == EINTR { continue }
                throw LayoutError.io(path: path, operation: "write at \(offset + Int64(done))", errno: errno)
            }
            done += written
        }
    }

    /// Copies `count` bytes from `offset` in this file to `targetOffset` in `target` inside the
    /// kernel. Returns false, having copied nothing that counts, where the kernel cannot (the
    /// caller then copies through memory).
    public func copyRange(offset: Int64, count: Int64, to target: FileDescriptor, at targetOffset: Int64) throws -> Bool {
        var done: Int64 = 0
        while done < count {
            let copied = airgap_copy_range(raw, offset + done, target.raw, targetOffset + done, count - done)
            if copied < 0 {
                if errno == EINTR { continue }
                if done == 0, [ENOSYS, EXDEV, EINVAL, EOPNOTSUPP, EBADF].contains(errno) { return false }
                throw LayoutError.io(path: target.path, operation: "copy_file_range", errno: errno)
            }
            if copied == 0 { throw LayoutError.io(path: path, operation: "copy_file_range at \(offset + done)", errno: EIO) }
            done += Int64(copied)
        }
        return true
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(raw, buffer.baseAddress!, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw LayoutError.io(path: path, operation: "read", errno: errno) }
        }
    }

    /// Calls `body` with successive chunks of the file until its end.
    public func forEachChunk(bufferSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The size of the file at `path`, or nil when there is none.
    public static func size(atPath path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// Reads up to `buffer.count` bytes at `offset` (pread: the file position is untouched, so
    /// threads may share the descriptor); 0 means `offset` is at or past the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        while true {
            let count = pread(raw, buffer.baseAddress, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno != EINTR { throw LayoutError.io(path: path, operation: "read at \(offset)", errno: errno) }
        }
    }

    /// Tells the kernel the file will be read front to back, so it reads further ahead.
    public func adviseSequential() {
        _ = airgap_advise_sequential(raw)
    }

    public func size() throws -> Int64 {
        var info = stat()
        guard fstat(raw, &info) == 0 else { throw LayoutError.io(path: path, operation: "stat", errno: errno) }
        return Int64(info.st_size)
    }

    public func truncate(to length: Int64) throws {
        guard ftruncate(raw, off_t(length)) == 0, lseek(raw, off_t(length), SEEK_SET) >= 0 else {
            throw LayoutError.io(path: path, operation: "truncate", errno: errno)
        }
    }

    /// Sets the size to `length` with every block reserved up front where the file system can
    /// (fallocate): a disk too small fails here, before any download, and writes into the
    /// reserved blocks skip the file system's per-page allocation. A plain truncate elsewhere.
    public func allocate(_ length: Int64) throws {
        if length > 0, airgap_allocate(raw, length) == 0 { return }
        if length > 0, errno == ENOSPC || errno == EFBIG {
            throw LayoutError.io(path: path, operation: "reserve \(length) bytes for", errno: errno)
        }
        try truncate(to: length)
    }

    /// Asks the kernel to start writing this range to disk now, without waiting: a large file
    /// written this way has little left to flush when `sync` comes.
    public func startWriteback(offset: Int64, count: Int64) {
        _ = airgap_start_writeback(raw, offset, count)
    }

    public func sync() throws {
        guard fsync(raw) == 0 else { throw LayoutError.io(path: path, operation: "fsync", errno: errno) }
    }
}
