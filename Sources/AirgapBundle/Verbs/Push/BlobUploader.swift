import Foundation
import Manifests
import OCILayout

/// The one way blobs go up, for the bundle's blobs and the libs image's alike: per blob, the
/// first repository that lacks it gets it by mount (from one that holds it) or upload, the rest
/// by mount from there. A chunked upload records its session so an interrupted run's successor
/// resumes it (`UploadSessionStore`). Blocking: `PushSchedule` runs it on the push's pool.
struct BlobUploader: Sendable {
    var client: RegistryClient
    var chunkSize: Int64
    var sessions: UploadSessionStore?
    var progress: TransferProgress

    /// Puts `blob` into every repository of `task` (all of which lack it). A failure names the
    /// blob and the repository; `cancellation` stops the transfer at its next chunk.
    func put(_ task: BlobTask, from blob: BlobSource, cancellation: CancellationFlag, counter: PushCounter) throws {
        var holder = task.mountFrom
        for repository in task.repositories {
            try cancellation.check()
            let outcome: BlobPushOutcome
            do {
                outcome = try client.pushBlob(blob, repository: repository, mountFrom: holder, chunkSize: chunkSize, sessions: sessions) { bytes in
                    try cancellation.check()
                    progress.advance(bytes)
                }
            } catch let error as CancellationError {
                throw error
            } catch let error as RegistryError where error.isAboutAccess {
                // About the account, not the blob: its own line says what to fix.
                throw error
            } catch {
                throw PushError.blob(digest: task.descriptor.digest, size: task.descriptor.size,
                                     target: "\(client.endpoint.name)/\(repository)", reason: "\(error)")
            }
            counter.count(outcome)
            holder = holder ?? repository
        }
    }

    /// Drops what an interrupted run recorded for these blobs. Once they are in the registry,
    /// uploaded now or arrived before (a kill between the closing PUT and the record's removal,
    /// a mount), there is nothing left to resume; the callers skip blobs the registry already
    /// holds, so the uploader alone would never see those records.
    func forgetSessions(for blobs: [(digest: Digest, repository: String)]) {
        guard let sessions else { return }
        for blob in blobs {
            sessions.remove(registry: client.endpoint.name, repository: blob.repository, digest: blob.digest)
        }
    }
}

/// Blob and manifest outcomes counted across the pool's threads.
final class PushCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = 0, mounted = 0, resumed = 0, skippedCount = 0, manifests = 0
    private var bytes: Int64 = 0

    func count(_ outcome: BlobPushOutcome) {
        lock.lock()
        defer { lock.unlock() }
        switch outcome {
        case .sent(let sentBytes, let wasResumed):
            sent += 1
            bytes += sentBytes
            if wasResumed { resumed += 1 }
        case .mounted: mounted += 1
        case .existed: skippedCount += 1
        }
    }

    func manifestsPut(_ count: Int) { lock.lock(); manifests += count; lock.unlock() }

    /// Adds what was counted to `summary`.
    func add(to summary: inout PushSummary) {
        lock.lock()
        defer { lock.unlock() }
        summary.blobsSent += sent
        summary.blobsMounted += mounted
        summary.bytesSent += bytes
        summary.blobsResumed += resumed
        summary.blobsSkipped += skippedCount
        summary.manifestsPut += manifests
    }
}
