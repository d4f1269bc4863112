import CArchive
import Manifests
#if canImport(Glibc)
import Glibc
#endif

private func readAheadCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    let input = Unmanaged<ReadAheadFile>.fromOpaque(context!).takeUnretainedValue()
    do {
        let block = try input.nextBlock()
        buffer?.pointee = block.baseAddress.map { UnsafeRawPointer($0) }
        return block.count
    } catch {
        // libarchive reports the failed read; archive_set_error is variadic, out of Swift's reach.
        return -1
    }
}

/// One entry of a tar as it goes by: its header, and its data still to be streamed.
public struct TarEntryHeader: Sendable {
    public enum Kind: Sendable, Equatable { case file, directory, symbolicLink, hardLink, other }

    public let name: String
    public let kind: Kind
    public let size: Int64
    /// Where this entry's header starts in the tar, so that later readers can seek to it.
    public let headerOffset: Int64
}

/// Streams a plain tar through libarchive, one entry at a time, without extracting anything.
/// Only tar formats are enabled: a compressed or foreign archive is refused, not guessed at.
public final class TarReader {
    private let handle: OpaquePointer
    public let path: String
    private let input: ReadAheadFile
    /// Where the end-of-archive marker starts (or the file ends, when a writer left it out):
    /// known once `nextEntry()` returned nil.
    public private(set) var endOfEntries: Int64?

    /// Opens `path` for one pass. With `tap`, every byte of the file (end-of-archive padding
    /// included) is also fed to it on another thread; `finishTap()` waits for the last byte.
    public convenience init(path: String, tap: ReadTap? = nil) throws {
        try self.init(file: try PartedFile.openForReading(path), tap: tap)
    }

    /// Reads `file` from its start by position. The caller keeps the file, so it can serve
    /// positional reads afterwards.
    public init(file: PartedFile, tap: ReadTap? = nil) throws {
        let path = file.path
        guard let handle = archive_read_new() else { throw LayoutError.archive(path: path, message: "libarchive: out of memory") }
        self.handle = handle
        self.path = path
        self.input = ReadAheadFile(file: file, tap: tap)
        archive_read_support_format_tar(handle)
        let status = archive_read_open2(handle, Unmanaged.passUnretained(input).toOpaque(), nil, readAheadCallback, nil, nil)
        guard status == ARCHIVE_OK else {
            throw LayoutError.archive(path: path, message: "not a tar archive: \(errorMessage())")
        }
    }

    deinit {
        archive_read_close(handle)
        archive_read_free(handle)
        input.close()
    }

    /// Waits until the tap has seen the whole file; call after the last entry.
    public func finishTap() throws {
        try input.finishTap()
    }

    /// The next entry's header, or nil at the end of the archive. Data left unread by the caller
    /// is skipped.
    public func nextEntry() throws -> TarEntryHeader? {
        var entryPointer: OpaquePointer?
        let status = archive_read_next_header(handle, &entryPointer)
        if status == ARCHIVE_EOF {
            // libarchive records the header position before it looks at the block, so at the end
            // it is where the zero blocks start, or the file's end when they are missing.
            endOfEntries = Int64(archive_read_header_position(handle))
            return nil
        }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry = entryPointer else {
            throw LayoutError.archive(path: path, message: errorMessage())
        }
        let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let kind: TarEntryHeader.Kind
        if archive_entry_hardlink(entry) != nil {
            kind = .hardLink
        } else {
            switch UInt32(archive_entry_filetype(entry)) {
            case airgap_AE_IFREG: kind = .file
            case airgap_AE_IFDIR: kind = .directory
            case airgap_AE_IFLNK: kind = .symbolicLink
            default: kind = .other
            }
        }
        return TarEntryHeader(name: name, kind: kind, size: Int64(archive_entry_size(entry)),
                              headerOffset: Int64(archive_read_header_position(handle)))
    }

    /// Streams the current entry's data without copying it: each chunk points into libarchive's
    /// read buffer and is valid only during the call.
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        var expectedOffset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(handle, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw LayoutError.archive(path: path, message: errorMessage())
            }
            // A sparse entry would leave holes; bundle entries never do, so one is an error.
            guard offset == expectedOffset else {
                throw LayoutError.archive(path: path, message: "entry has a hole at byte \(expectedOffset)")
            }
            if size > 0, let buffer { try body(UnsafeRawBufferPointer(start: buffer, count: size)) }
            expectedOffset += la_int64_t(size)
        }
    }

    private func errorMessage() -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "libarchive read error"
    }
}
