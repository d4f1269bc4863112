import Foundation

/// Finds where an entry's data starts in a plain tar, from the offset of its header (what the
/// scanner records), so a blob can be streamed from the tarball in place. Reads the 512-byte
/// headers itself: a pax extended header (for a blob over 8 GiB) comes before the entry's own.
public enum TarEntryLocator {
    public static func dataOffset(in file: FileDescriptor, headerOffset: Int64, expectedSize: Int64) throws -> Int64 {
        var offset = headerOffset
        var paxSize: Int64?
        for _ in 0..<4 {
            let header = try readBlock(file, at: offset)
            let type = header[156]
            let size = paxSize ?? parseOctal(header[124..<136])
            switch type {
            case UInt8(ascii: "x"):
                let extended = parseOctal(header[124..<136])
                let records = try readBytes(file, at: offset + 512, count: Int(extended))
                paxSize = parsePaxSize(records)
                offset += 512 + (extended + 511) / 512 * 512
            case UInt8(ascii: "0"), 0:
                guard size == expectedSize else {
                    throw LayoutError.sizeMismatch(path: "\(file.path) at \(headerOffset)", expected: expectedSize, actual: size)
                }
                return offset + 512
            default:
                throw LayoutError.archive(path: file.path, message: "entry at \(headerOffset) is not a regular file")
            }
        }
        throw LayoutError.archive(path: file.path, message: "too many extended headers at \(headerOffset)")
    }

    private static func readBlock(_ file: FileDescriptor, at offset: Int64) throws -> [UInt8] {
        try readBytes(file, at: offset, count: 512)
    }

    private static func readBytes(_ file: FileDescriptor, at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { pread(file.raw, $0.baseAddress, count, off_t(offset)) }
        guard read == count else { throw LayoutError.archive(path: file.path, message: "short read at \(offset)") }
        return bytes
    }

    private static func parseOctal(_ field: ArraySlice<UInt8>) -> Int64 {
        var value: Int64 = 0
        for byte in field {
            guard (0x30...0x37).contains(byte) else { if value > 0 || byte == 0 { break } else { continue } }
            value = value * 8 + Int64(byte - 0x30)
        }
        return value
    }

    /// `size` from pax records (`<length> size=<n>\n`).
    private static func parsePaxSize(_ records: [UInt8]) -> Int64? {
        let text = String(decoding: records, as: UTF8.self)
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let record = line[line.index(after: space)...]
            if record.hasPrefix("size=") { return Int64(record.dropFirst(5)) }
        }
        return nil
    }
}
