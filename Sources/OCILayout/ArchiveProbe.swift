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
}
