import Foundation
import Manifests

/// Hashes blobs of a tarball in place, several at once, from where their headers are: the same
/// proof as the streaming pass (every byte against its name), on all cores. For callers that
/// already know the layout from a quick scan (`LayoutScanner` without large blobs).
public enum ParallelBlobCheck {
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

    /// Throws a `LayoutDefect` naming the first blob (in tar order) whose bytes do not match.
    public static func verify(_ file: PartedFile, blobs: [Blob], width: Int = ProcessInfo.processInfo.activeProcessorCount,
                              progress: @escaping @Sendable (Int64) -> Void = { _ in }) throws {
        // Largest first, so the cores finish together.
        let ordered = blobs.sorted { $0.size > $1.size }
        final class Failures: @unchecked Sendable {
            let lock = NSLock()
            var byOffset: [Int64: Error] = [:]
            func add(_ offset: Int64, _ error: Error) { lock.lock(); byOffset[offset] = error; lock.unlock() }
        }
        let failures = Failures()
        let next = NSLock()
        var cursor = 0
        DispatchQueue.concurrentPerform(iterations: max(1, min(width, ordered.count))) { _ in
            while true {
                next.lock()
                guard cursor < ordered.count else { next.unlock(); return }
                let blob = ordered[cursor]
                cursor += 1
                next.unlock()
                let name = LayoutPath.blobName(blob.digest)
                do {
                    let start = blob.dataOffset
                    let hasher = SHA256Hasher()
                    do {
                        try file.forEachChunk(offset: start, length: blob.size) { chunk in
                            hasher.update(chunk)
                            progress(Int64(chunk.count))
                        }
                    } catch let error as LayoutError {
                        throw LayoutDefect(entry: name, problem: "cannot be read to its end (\(error)); the bundle is truncated")
                    }
                    let actual = hasher.finalize()
                    guard actual == blob.digest else {
                        throw LayoutDefect(entry: name, problem: "content hashes to \(actual), not to its name; the blob was altered or damaged")
                    }
                } catch let defect as LayoutDefect {
                    failures.add(blob.dataOffset, defect)
                } catch {
                    failures.add(blob.dataOffset, LayoutDefect(entry: name, problem: "\(error)"))
                }
            }
        }
        if let first = failures.byOffset.min(by: { $0.key < $1.key }) { throw first.value }
    }
}
