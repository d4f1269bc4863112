import Foundation
import Manifests
import OCILayout

/// Step 1b of push, for a delta bundle: the blobs it leaves to its base must already be in the
/// registry, or come from the base bundle (`--base`). HEAD only, before any write: each blob a
/// target repository lacks is looked for in the repository the base pushed it to (the lock
/// names it) and in the plan's other repositories; found, it is mounted from there by the
/// upload step; found nowhere, the push stops with every such blob named and nothing written.
struct ExternalBlobStep {
    let client: RegistryClient
    let workers: WorkerPool
    let naming: RepositoryNaming

    private struct Absent: Sendable {
        var digest: Digest
        var size: Int64
        var repository: String
    }

    /// `missing` as the plan found it, each external blob given the base's repository to mount
    /// from when the plan found no holder among its own repositories. Throws `externalBlobsMissing` listing every
    /// blob no repository holds, unless the bundle can read it from an attached base.
    func resolve(_ missing: [BlobTask], bundle: BundleReader) async throws -> [BlobTask] {
        guard let delta = bundle.delta else { return missing }
        let external = Dictionary(delta.external.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        let client = self.client, naming = self.naming
        let outcomes = try await workers.map(missing) { task, _ -> (BlobTask?, Absent?) in
            // Held by another of the plan's repositories (the plan found a mount source), or readable here: nothing to check.
            guard let blob = external[task.descriptor.digest], task.mountFrom == nil, try bundle.heldSource(for: task.descriptor) == nil else {
                return (task, nil)
            }
            let base = (try? Reference(parsing: blob.repository)).map { naming.repository(for: $0.repository) }
            guard let base, !task.repositories.contains(base), try client.blobExists(repository: base, digest: blob.digest) else {
                return (nil, Absent(digest: blob.digest, size: blob.size, repository: "\(naming.registry)/\(base ?? blob.repository)"))
            }
            return (BlobTask(descriptor: task.descriptor, repositories: task.repositories, mountFrom: base), nil)
        }
        let absent = outcomes.compactMap(\.1)
        guard absent.isEmpty else {
            throw PushError.externalBlobsMissing(bundle: bundle.path, blobs: absent.map { blob in
                (blob.digest, blob.size, blob.repository, bundle.items.filter { $0.external.contains(blob.digest) }.map(\.reference))
            })
        }
        return outcomes.compactMap(\.0)
    }
}
