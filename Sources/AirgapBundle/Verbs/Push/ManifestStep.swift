import Foundation
import Manifests

/// Step 3 of push: the manifests the registry lacks, in plan order (children first), each by
/// digest, then by tag. Used for the bundle and for the libs image.
struct ManifestStep {
    var client: RegistryClient
    var workers: WorkerPool

    func put(_ manifests: [MissingManifest], summary: inout PushSummary) async throws {
        let client = self.client
        for missing in manifests {
            let task = missing.task
            if missing.byDigest {
                try await workers.run { try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: task.descriptor.digest.description) }
                summary.manifestsPut += 1
            }
            if missing.byTag, let tag = task.tag {
                try await workers.run { try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: tag) }
                summary.manifestsPut += 1
            }
        }
    }
}
