import Foundation
import Manifests
import OCILayout

/// Where a blob's bytes are: a region of the bundle tarball, read in place.
public struct BlobSource: @unchecked Sendable {
    public var file: PartedFile
    public var offset: Int64
    public var descriptor: Descriptor

    public init(file: PartedFile, offset: Int64, descriptor: Descriptor) {
        self.file = file
        self.offset = offset
        self.descriptor = descriptor
    }

    /// Streams the blob's bytes.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try file.forEachChunk(offset: offset, length: descriptor.size, body)
    }

    /// Copies the blob into `target` atomically, hashed on the way: bytes that do not hash to
    /// the descriptor's digest leave nothing behind, so a file that exists is always the blob.
    public func writeChecked(to target: String) throws {
        try AtomicFile.write(to: target) { output in
            let hasher = SHA256Hasher()
            try forEachChunk { chunk in
                hasher.update(chunk)
                try output.write(chunk)
            }
            let actual = hasher.finalize()
            guard actual == descriptor.digest else {
                throw LayoutError.digestMismatch(path: target, expected: descriptor.digest.description, actual: actual.description)
            }
        }
    }
}
