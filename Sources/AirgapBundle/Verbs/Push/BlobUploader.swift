import Foundation
import Manifests
import OCILayout

/// Step 2 of push: the one way blobs go up, for the bundle's blobs and the libs image's alike.
/// Several at once; per blob, the first repository that lacks it gets it by mount (from one
/// that holds it) or upload, the rest by mount from there. A chunked upload records its session
/// so an interrupted run's successor resumes it (`UploadSessionStore`).
struct BlobUploader {
    var client: RegistryClient
    var workers: WorkerPool
    var chunkSize: Int64
    var sessions: UploadSessionStore?
    var progress: TransferProgress

    /// `source` says where each task's bytes are. Mounting from `mountFrom` (a repository that
    /// holds the blob, e.g. the Flink image's for the libs image) is tried first when given.
    func upload(_ tasks: [BlobTask], mountFrom: String? = nil, source: @escaping @Sendable (Descriptor) throws -> BlobSource,
                summary: inout PushSummary) async throws {
        guard !tasks.isEmpty else { return }
        let client = self.client, chunkSize = self.chunkSize, sessions = self.sessions, progress = self.progress
        progress.setTotal(tasks.reduce(0) { $0 + $1.descriptor.size })
        let counter = PushCounter()
        try await workers.forEach(tasks) { task, cancellation in
            let blob = try source(task.descriptor)
            var holder = mountFrom
            for repository in task.repositories {
                if try client.blobExists(repository: repository, digest: task.descriptor.digest) {
                    holder = holder ?? repository
                    counter.skipped()
                    continue
                }
                let outcome = try client.pushBlob(blob, repository: repository, mountFrom: holder, chunkSize: chunkSize, sessions: sessions) { bytes in
                    try cancellation.check()
                    progress.advance(bytes)
                }
                counter.count(outcome)
                holder = holder ?? repository
            }
        }
        progress.finish()
        let totals = counter.totals
        summary.blobsSent += totals.sent
        summary.blobsMounted += totals.mounted
        summary.bytesSent += totals.bytes
        summary.blobsResumed += totals.resumed
        summary.blobsSkipped += totals.skipped
    }

    /// Drops what an interrupted run recorded for these blobs. Once they are in the registry,
    /// uploaded now or arrived before (a kill between the closing PUT and the record's removal,
    /// a mount), there is nothing left to resume; the callers skip blobs the registry already
    /// holds, so the uploader alone would never see those records.
    func forgetSessions(for tasks: [BlobTask]) {
        guard let sessions else { return }
        for task in tasks {
            for repository in task.repositories {
                sessions.remove(registry: client.endpoint.name, repository: repository, digest: task.descriptor.digest)
            }
        }
    }
}

/// Blob outcomes counted across upload threads.
final class PushCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var sent = 0, mounted = 0, resumed = 0, skippedCount = 0
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

    func skipped() { lock.lock(); skippedCount += 1; lock.unlock() }

    var totals: (sent: Int, mounted: Int, bytes: Int64, resumed: Int, skipped: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (sent, mounted, bytes, resumed, skippedCount)
    }
}
