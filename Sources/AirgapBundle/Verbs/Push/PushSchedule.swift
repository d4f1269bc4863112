import Foundation
import Manifests
import OCILayout

/// Steps 2 and 3 of push: the blobs and manifests the registry lacks, all at once under the
/// pool's bound, each manifest as soon as everything it names is there — its blobs, its child
/// manifests, its subject — and not before, so a registry never sees a parent before its
/// children (distribution refuses an index whose manifests it lacks). The first failure stops
/// what has not started, stops running transfers at their next chunk, and is rethrown: nothing
/// that names the failed blob or manifest is written.
struct PushSchedule {
    var uploader: BlobUploader
    var workers: WorkerPool

    /// `source` says where each blob's bytes are; `phase` names the work in the progress line.
    func run(blobs: [BlobTask], manifests: [MissingManifest], phase: String = "upload", source: @escaping @Sendable (Descriptor) throws -> BlobSource,
             summary: inout PushSummary) async throws {
        guard !blobs.isEmpty || !manifests.isEmpty else { return }
        let uploader = self.uploader, workers = self.workers
        let step = ManifestStep(client: uploader.client)
        let counter = PushCounter()
        let cancellation = CancellationFlag()
        let progress = uploader.progress
        progress.begin(phase, bytes: blobs.reduce(0) { $0 + $1.descriptor.size }, blobs: blobs.count + manifests.count, unit: "blobs and manifests")

        /// Runs `work` on the pool unless a sibling failed; a failure tells the siblings.
        @Sendable func pooled(_ work: @escaping () throws -> Void) async throws {
            try cancellation.check()
            try await workers.run {
                try cancellation.check()
                do { try work() } catch {
                    cancellation.cancel()
                    throw error
                }
            }
        }

        // Blobs have no prerequisites; each repository's copy of a digest is one task.
        var blobDone: [String: Task<Void, Error>] = [:]
        var tasks: [Task<Void, Error>] = []
        for blob in blobs {
            let task = Task {
                try await pooled {
                    progress.subject(blob.repositories.first ?? "")
                    try uploader.put(blob, from: try source(blob.descriptor), cancellation: cancellation, counter: counter)
                    progress.blobDone()
                }
            }
            for repository in blob.repositories { blobDone["\(repository)@\(blob.descriptor.digest)"] = task }
            tasks.append(task)
        }
        // The plan lists children before parents, so every prerequisite's task exists already.
        var manifestDone: [String: [Task<Void, Error>]] = [:]
        for missing in manifests {
            let repository = missing.task.repository
            let prerequisites = ManifestStep.dependencies(of: missing.task).flatMap { digest -> [Task<Void, Error>] in
                let key = "\(repository)@\(digest)"
                return (blobDone[key].map { [$0] } ?? []) + (manifestDone[key] ?? [])
            }
            let task = Task {
                for prerequisite in prerequisites { try await prerequisite.value }
                try await pooled {
                    progress.subject(repository + (missing.task.tag.map { ":\($0)" } ?? "@\(missing.task.descriptor.digest.description.prefix(19))"))
                    counter.manifestsPut(try step.put(missing))
                    progress.blobDone()
                }
            }
            manifestDone["\(repository)@\(missing.task.descriptor.digest)", default: []].append(task)
            tasks.append(task)
        }

        var firstError: Error?
        for task in tasks {
            do { try await task.value } catch {
                // The failure itself, not the cancellations it caused.
                if firstError == nil || firstError is CancellationError { firstError = error }
            }
        }
        counter.add(to: &summary)
        if let firstError { throw firstError }
    }
}
