import Foundation
import Manifests

/// One entry of a bundle's tar, in order: what it is called and what fills it.
public struct TarEntry: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case directory
        /// A small file held in memory (`oci-layout`, `index.json`, the lock, its signature, the SBOM).
        case bytes([UInt8])
        /// A blob of the layout, `size` bytes, whose bytes come from wherever the writer finds them.
        case blob(Digest)
    }

    public var name: String
    public var size: Int64
    public var content: Content

    public init(name: String, size: Int64, content: Content) {
        self.name = name
        self.size = size
        self.content = content
    }
}

extension LayoutContents {
    /// Every entry of the tar, in the order it is written: `oci-layout`, `index.json`, the
    /// `airgap/` files, the `blobs/` folders, then the blobs sorted by digest. The one list both
    /// writers (streaming and placed) follow, and the one place that decides what goes in: a
    /// bundle that leaves blobs out (a delta) leaves them out of `blobs` before this is asked.
    public func tarEntries() throws -> [TarEntry] {
        func file(_ name: String, _ data: Data) -> TarEntry { TarEntry(name: name, size: Int64(data.count), content: .bytes(Array(data))) }
        func directory(_ name: String) -> TarEntry { TarEntry(name: name.hasSuffix("/") ? name : name + "/", size: 0, content: .directory) }
        var entries = [file(LayoutPath.layoutFileName, LayoutArchiveWriter.layoutDocument), file(LayoutPath.indexFileName, try indexDocument())]
        if let lockFile {
            entries.append(directory("airgap"))
            entries.append(file(LayoutPath.lockFileName, lockFile))
            if let lockSignature { entries.append(file(LayoutPath.lockSignatureName, lockSignature)) }
            if let sbom { entries.append(file(LayoutPath.sbomName, sbom)) }
        }
        entries.append(directory("blobs"))
        for algorithm in Set(blobs.keys.map(\.algorithm)).sorted(by: { $0.rawValue < $1.rawValue }) {
            entries.append(directory("blobs/\(algorithm.rawValue)"))
        }
        for (digest, size) in blobs.sorted(by: { $0.key < $1.key }) {
            entries.append(TarEntry(name: LayoutPath.blobName(digest), size: size, content: .blob(digest)))
        }
        return entries
    }
}

/// Where every byte of the tar that `TarWriter` would write for the same entries goes, worked
/// out before any of it exists: a 512-byte header per entry, its data, zeros to the next 512,
/// the end-of-archive marker, and the zeros libarchive's blocking adds to the last block. With
/// every size known from the manifests, each blob can then be written straight into its place.
///
/// Only plain ustar is laid out here (names up to 100 bytes, sizes below 8 GiB, which every
/// bundle entry but a giant layer meets); for anything else `init` returns nil and the caller
/// streams through libarchive instead. `TarLayoutTests` holds the two to the same bytes.
public struct TarLayout: Sendable {
    public struct Placed: Sendable {
        public var entry: TarEntry
        public var headerOffset: Int64
        public var dataOffset: Int64 { headerOffset + TarLayout.blockSize }
        /// Data plus the zeros that pad it to a whole block.
        public var paddedSize: Int64 { (entry.size + TarLayout.blockSize - 1) / TarLayout.blockSize * TarLayout.blockSize }
    }

    static let blockSize: Int64 = 512
    /// As `TarWriter` sets libarchive: output in blocks of 1 MiB, the last one cut to a multiple of 10240.
    static let bytesPerBlock: Int64 = 1 << 20
    static let bytesInLastBlock: Int64 = 10240
    /// The largest size eleven octal digits hold.
    static let maximumUstarSize: Int64 = 0o77777777777

    public let placed: [Placed]
    /// Where the end-of-archive marker starts.
    public let trailerOffset: Int64
    public let totalSize: Int64

    public init?(_ entries: [TarEntry]) {
        var placed: [Placed] = []
        var offset: Int64 = 0
        for entry in entries {
            guard entry.name.utf8.count <= 100, entry.size <= Self.maximumUstarSize, entry.name.utf8.allSatisfy({ $0 > 0 && $0 < 0x80 }) else { return nil }
            let item = Placed(entry: entry, headerOffset: offset)
            placed.append(item)
            offset = item.dataOffset + item.paddedSize
        }
        self.placed = placed
        trailerOffset = offset
        let stream = offset + 2 * Self.blockSize
        let remainder = stream % Self.bytesPerBlock
        let lastBlock = min(Self.bytesPerBlock, (remainder + Self.bytesInLastBlock - 1) / Self.bytesInLastBlock * Self.bytesInLastBlock)
        totalSize = stream - remainder + lastBlock
    }

    /// The ustar header `TarWriter` writes for this entry: fixed metadata (mode 0644 or 0755,
    /// uid/gid 0, mtime 0, no owner names), numbers in octal as libarchive formats them.
    public static func header(for entry: TarEntry) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: Int(blockSize))
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, digits: Int) -> String {
            let text = String(value, radix: 8)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        let isDirectory = entry.content == .directory
        put(entry.name, at: 0)
        put(octal(isDirectory ? 0o755 : 0o644, digits: 6) + " ", at: 100)
        put(octal(0, digits: 6) + " ", at: 108)
        put(octal(0, digits: 6) + " ", at: 116)
        put(octal(isDirectory ? 0 : entry.size, digits: 11) + " ", at: 124)
        put(octal(0, digits: 11) + " ", at: 136)
        put("        ", at: 148)
        put(isDirectory ? "5" : "0", at: 156)
        put("ustar", at: 257)
        put("00", at: 263)
        put(octal(0, digits: 6) + " ", at: 329)
        put(octal(0, digits: 6) + " ", at: 337)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, digits: 6), at: 148)
        header[154] = 0
        header[155] = 0x20
        return header
    }
}
