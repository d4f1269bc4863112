import Foundation
import Manifests

/// Hashes one blob of a tarball in place, from where its header is: the same proof as the
/// streaming pass (every byte against its name). Callers that already know the layout from a
/// quick scan (`LayoutScanner` without large blobs) run several at once on their worker pool.
public enum InPlaceBlobCheck {
    public struct Blob: Sendable {
        public var digest: Digest
        /// Where the blob's bytes start in the tar (`LayoutSnapshot.dataOffsets`).
        public var dataOffset: Int64
        public var size: Int64

        public init(digest: Digest, dataOffset: Int64, size: Int64) {
            self.digest = digest
            self.dataOffset = dataOffset
            self.size = size
        }
    }

    /// Largest first, so parallel workers finish together.
    public static func schedule(_ blobs: [Blob]) -> [Blob] {
        blobs.sorted { $0.size > $1.size }
    }

    /// The `LayoutDefect` for this blob, or nil when every byte hashes to its name.
    public static func defect(in file: PartedFile, blob: Blob, progress: (Int64) -> Void = { _ in }) -> LayoutDefect? {
        let name = LayoutPath.blobName(blob.digest)
        do {
            let hasher = SHA256Hasher()
            do {
                try file.forEachChunk(offset: blob.dataOffset, length: blob.size) { chunk in
                    hasher.update(chunk)
                    progress(Int64(chunk.count))
                }
            } catch let error as LayoutError {
                return LayoutDefect(entry: name, problem: "cannot be read to its end (\(error)); the bundle is truncated")
            }
            let actual = hasher.finalize()
            guard actual == blob.digest else {
                return LayoutDefect(entry: name, problem: "content hashes to \(actual), not to its name; the blob was altered or damaged")
            }
            return nil
        } catch {
            return LayoutDefect(entry: name, problem: "\(error)")
        }
    }
}
