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
    let naming: RepositoryNaming

    /// `missing` as the plan found it, with each external blob's holder put first (the uploader
    /// mounts from the first repository that has it). Throws `externalBlobsMissing` listing every
    /// blob no repository holds, unless the bundle can read it from an attached base.
    func resolve(_ missing: [BlobTask], bundle: BundleReader) async throws -> [BlobTask] {
        guard let delta = bundle.delta else { return missing }
        let external = Dictionary(delta.external.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        var resolved: [BlobTask] = []
        var absent: [(digest: Digest, size: Int64, repository: String, entries: [String])] = []
        for task in missing {
            guard let blob = external[task.descriptor.digest], try bundle.heldSource(for: task.descriptor) == nil else {
                resolved.append(task)
                continue
            }
            var candidates = task.repositories
            if let base = try? Reference(parsing: blob.repository) {
                let repository = naming.repository(for: base.repository)
                if !candidates.contains(repository) { candidates.insert(repository, at: 0) }
            }
            let client = self.client, digest = blob.digest
            let holder = try await offload { try candidates.first { try client.blobExists(repository: $0, digest: digest) } }
            guard let holder else {
                let entries = bundle.items.filter { $0.external.contains(digest) }.map(\.reference)
                absent.append((digest, blob.size, "\(naming.registry)/\(candidates.first ?? "")", entries))
                continue
            }
            resolved.append(BlobTask(descriptor: task.descriptor, repositories: [holder] + task.repositories.filter { $0 != holder }))
        }
        guard absent.isEmpty else { throw PushError.externalBlobsMissing(bundle: bundle.path, blobs: absent) }
        return resolved
    }
}
