import CArchive
import Foundation

/// Questions about an archive's format, answered by libarchive reading it.
public enum ArchiveProbe {
    /// Whether the file is a zip archive libarchive can list: what a JAR must be. Every entry
    /// header is read, so a truncated or foreign file fails here.
    public static func isReadableZip(_ path: String) -> Bool {
        guard let handle = archive_read_new() else { return false }
        defer { archive_read_free(handle) }
        archive_read_support_format_zip(handle)
        guard archive_read_open_filename(handle, path, 1 << 16) == ARCHIVE_OK else { return false }
        defer { archive_read_close(handle) }
        var entry: OpaquePointer?
        var entries = 0
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { return entries > 0 }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { return false }
            entries += 1
        }
    }

    /// The contents of the first entry of a (possibly gzip-compressed) tar whose name satisfies
    /// `matches`, up to `limit` bytes; nil when there is none or the archive is unreadable.
    public static func readEntry(ofTarball path: String, limit: Int = 1 << 20, where matches: (String) -> Bool) -> Data? {
        guard let handle = archive_read_new() else { return nil }
        defer { archive_read_free(handle) }
        archive_read_support_format_tar(handle)
        archive_read_support_filter_gzip(handle)
        guard archive_read_open_filename(handle, path, 1 << 16) == ARCHIVE_OK else { return nil }
        defer { archive_read_close(handle) }
        var entry: OpaquePointer?
        while archive_read_next_header(handle, &entry) == ARCHIVE_OK {
            guard let entry, let name = archive_entry_pathname(entry).map({ String(cString: $0) }), matches(name) else { continue }
            let size = Int(archive_entry_size(entry))
            guard size <= limit else { return nil }
            var data = Data(count: size)
            let read = data.withUnsafeMutableBytes { archive_read_data(handle, $0.baseAddress, size) }
            return read == size ? data : nil
        }
        return nil
    }

    /// Entry names of a (compressed or not) tar stored at `offset..<offset+length` of `file`:
    /// an image layer read in place inside a bundle.
    public static func entryNames(inLayerAt offset: Int64, length: Int64, of file: PartedFile) throws -> [String] {
        guard let handle = archive_read_new() else { throw LayoutError.archive(path: file.path, message: "libarchive: out of memory") }
        defer { archive_read_free(handle) }
        archive_read_support_format_tar(handle)
        archive_read_support_filter_gzip(handle)
        archive_read_support_filter_zstd(handle)
        let region = RegionReader(file: file, start: offset, end: offset + length)
        guard archive_read_open2(handle, Unmanaged.passUnretained(region).toOpaque(), nil, regionRead, nil, nil) == ARCHIVE_OK else {
            throw LayoutError.archive(path: file.path, message: "layer at \(offset) is not a tar: \(String(cString: archive_error_string(handle)))")
        }
        defer { archive_read_close(handle) }
        var names: [String] = []
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { return names }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw LayoutError.archive(path: file.path, message: "layer at \(offset): \(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable")")
            }
            if let name = archive_entry_pathname(entry) { names.append(String(cString: name)) }
        }
    }
}

/// One entry of a tar as libarchive reads it: the name as stored and what kind of file it is.
public struct ArchiveEntry: Sendable {
    public enum Kind: Sendable, Equatable {
        case file
        case directory
        /// A link, device, fifo or socket: `describing` says which.
        case other(String)
    }

    public var name: String
    public var kind: Kind
    public var size: Int64
    /// Permission bits as stored.
    public var permissions: UInt32
}

extension ArchiveProbe {
    /// Reads every entry of a (gzip- or zstd-compressed, or plain) tar stored at
    /// `offset..<offset+length` of `file`, in order. `body` gets each entry and a function that
    /// streams its data (for files; call it at most once); data not read is skipped.
    public static func forEachEntry(
        inRegionAt offset: Int64, length: Int64, of file: PartedFile,
        _ body: (ArchiveEntry, (_ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Void
    ) throws {
        guard let handle = archive_read_new() else { throw LayoutError.archive(path: file.path, message: "libarchive: out of memory") }
        defer { archive_read_free(handle) }
        archive_read_support_format_tar(handle)
        archive_read_support_filter_gzip(handle)
        archive_read_support_filter_zstd(handle)
        let region = RegionReader(file: file, start: offset, end: offset + length)
        func failure(_ what: String) -> LayoutError {
            .archive(path: file.path, message: "archive at \(offset): \(what): \(archive_error_string(handle).map { String(cString: $0) } ?? "unreadable")")
        }
        guard archive_read_open2(handle, Unmanaged.passUnretained(region).toOpaque(), nil, regionRead, nil, nil) == ARCHIVE_OK else {
            throw failure("not a tar")
        }
        defer { archive_read_close(handle) }
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(handle, &entry)
            if status == ARCHIVE_EOF { return }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw failure("bad entry header") }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            let type = UInt32(archive_entry_filetype(entry))
            let kind: ArchiveEntry.Kind
            switch type {
            case _ where archive_entry_hardlink(entry) != nil: kind = .other("hard link")
            case airgap_AE_IFREG: kind = .file
            case airgap_AE_IFDIR: kind = .directory
            case airgap_AE_IFLNK: kind = .other("symbolic link")
            default: kind = .other("special file")
            }
            let described = ArchiveEntry(name: name, kind: kind, size: Int64(archive_entry_size(entry)),
                                         permissions: UInt32(archive_entry_perm(entry)))
            try body(described) { chunk in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let count = archive_read_data(handle, buffer.baseAddress, buffer.count)
                    if count == 0 { return }
                    guard count > 0 else { throw failure("\(name) cut short") }
                    try chunk(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
            }
        }
    }
}

/// A window of a file handed to libarchive block by block.
private final class RegionReader {
    let file: PartedFile
    var position: Int64
    let end: Int64
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)

    init(file: PartedFile, start: Int64, end: Int64) {
        self.file = file
        self.position = start
        self.end = end
    }

    deinit { buffer.deallocate() }
}

private func regionRead(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    let region = Unmanaged<RegionReader>.fromOpaque(context!).takeUnretainedValue()
    let wanted = Int(min(Int64(region.buffer.count), region.end - region.position))
    guard wanted > 0 else { return 0 }
    guard let count = try? region.file.read(into: UnsafeMutableRawBufferPointer(rebasing: region.buffer[0..<wanted]), at: region.position),
          count > 0 else { return -1 }
    region.position += Int64(count)
    out?.pointee = UnsafeRawPointer(region.buffer.baseAddress)
    return count
}
