import CArchive
import Manifests
#if canImport(Glibc)
import Glibc
#endif

/// Where libarchive's output blocks go: hashed, then written to the file.
private final class TarOutput {
    /// Writeback is started every this many bytes, so the final fsync finds little to do.
    static let writebackInterval: Int64 = 32 << 20

    let file: ByteSink
    let hasher: SHA256Hasher
    var failure: Error?
    var written: Int64 = 0
    var flushedUpTo: Int64 = 0

    init(file: ByteSink, hasher: SHA256Hasher) {
        self.file = file
        self.hasher = hasher
    }
}

private func tarOutputWrite(_ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int) -> la_ssize_t {
    let output = Unmanaged<TarOutput>.fromOpaque(context!).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: buffer, count: length)
    do {
        try output.file.write(bytes)
        output.hasher.update(bytes)
        output.written += Int64(length)
        if output.written - output.flushedUpTo >= TarOutput.writebackInterval {
            output.file.startWriteback(offset: output.flushedUpTo, count: output.written - output.flushedUpTo)
            output.flushedUpTo = output.written
        }
        return length
    } catch {
        output.failure = error
        return -1
    }
}

/// Writes a plain (uncompressed) POSIX tar through libarchive with fixed metadata, so the bytes
/// depend only on the names and contents given: mtime 0, uid/gid 0, no user or group names,
/// mode 0644 for files and 0755 for directories.
public final class TarWriter {
    private let handle: OpaquePointer
    private let path: String
    private let output: TarOutput
    private var finished = false

    /// Writes into an already open file; the caller owns (and syncs) the descriptor. Every byte
    /// of the tar passes through `hasher` on its way out, so the archive's own checksum costs no
    /// second read. With `gzip`, the stream is compressed with no timestamp or name in its
    /// header, so it too depends only on the content.
    public convenience init(file: FileDescriptor, hasher: SHA256Hasher, gzip: Bool = false) throws {
        try self.init(sink: file, path: file.path, hasher: hasher, gzip: gzip)
    }

    /// Writes into any sink (a set of parts, for a split bundle); `path` names it in errors.
    public init(sink file: ByteSink, path: String, hasher: SHA256Hasher, gzip: Bool = false) throws {
        guard let handle = archive_write_new() else { throw LayoutError.archive(path: path, message: "libarchive: out of memory") }
        self.handle = handle
        self.path = path
        self.output = TarOutput(file: file, hasher: hasher)
        // pax_restricted writes plain ustar headers and adds a pax header only for what ustar
        // cannot hold (a blob over 8 GiB), so ordinary bundles are readable by every tar.
        try check(archive_write_set_format_pax_restricted(handle))
        if gzip {
            try check(archive_write_add_filter_gzip(handle))
            try check(archive_write_set_filter_option(handle, "gzip", "timestamp", nil))
        } else {
            try check(archive_write_add_filter_none(handle))
        }
        try check(archive_write_set_bytes_per_block(handle, 1 << 20))
        try check(archive_write_set_bytes_in_last_block(handle, 10240))
        try check(archive_write_open2(handle, Unmanaged.passUnretained(output).toOpaque(), nil, tarOutputWrite, nil, nil))
    }

    deinit {
        if !finished { archive_write_close(handle) }
        archive_write_free(handle)
    }

    public func addDirectory(_ name: String) throws {
        try writeHeader(name: name.hasSuffix("/") ? name : name + "/", size: 0, type: airgap_AE_IFDIR, permissions: 0o755)
    }

    /// Adds a regular file of exactly `size` bytes, produced by `produce`, which is handed a
    /// function to write each chunk with. Writing more or fewer bytes than `size` is an error.
    public func addFile(_ name: String, size: Int64, produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try writeHeader(name: name, size: size, type: airgap_AE_IFREG, permissions: 0o644)
        var written: Int64 = 0
        try produce { chunk in
            guard written + Int64(chunk.count) <= size else {
                throw LayoutError.sizeMismatch(path: name, expected: size, actual: written + Int64(chunk.count))
            }
            var offset = 0
            while offset < chunk.count {
                let count = archive_write_data(handle, chunk.baseAddress! + offset, chunk.count - offset)
                guard count > 0 else {
                    if let failure = output.failure { throw failure }
                    throw LayoutError.archive(path: path, message: errorMessage())
                }
                offset += count
            }
            written += Int64(chunk.count)
        }
        guard written == size else { throw LayoutError.sizeMismatch(path: name, expected: size, actual: written) }
    }

    public func addFile(_ name: String, contents: [UInt8]) throws {
        try addFile(name, size: Int64(contents.count)) { write in try contents.withUnsafeBytes { try write($0) } }
    }

    /// Writes the end-of-archive marker and flushes libarchive's last block.
    public func finish() throws {
        finished = true
        try check(archive_write_close(handle))
    }

    private func writeHeader(name: String, size: Int64, type: UInt32, permissions: mode_t) throws {
        guard let entry = archive_entry_new() else { throw LayoutError.archive(path: path, message: "libarchive: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, permissions)
        archive_entry_set_size(entry, type == airgap_AE_IFREG ? la_int64_t(size) : 0)
        archive_entry_set_mtime(entry, 0, 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        try check(archive_write_header(handle, entry))
    }

    private func check(_ status: Int32) throws {
        if let failure = output.failure { throw failure }
        guard status == ARCHIVE_OK else { throw LayoutError.archive(path: path, message: errorMessage()) }
    }

    private func errorMessage() -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "libarchive write error"
    }
}
