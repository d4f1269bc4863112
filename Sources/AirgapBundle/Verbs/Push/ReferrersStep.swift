import Foundation
import Manifests

/// Step 1b of push: where referrers land. A referrer manifest carries its `subject`, so a
/// registry with the referrers API lists it once it is put by digest, and the `sha256-<hex>`
/// fallback tag is left alone. A registry without the API (Debian's distribution 2.8 answers
/// 404) gets the fallback tag, as the OCI 1.1 distribution spec asks of clients: when the tag
/// already holds referrers the bundle does not carry, they are kept and the bundle's added.
struct ReferrersStep {
    var client: RegistryClient
    var workers: WorkerPool

    /// Every referrers tag of the plan looked at at once; the plan changed in place.
    func adjust(_ plan: inout PushPlan) async throws {
        let client = self.client
        let positions = plan.manifests.indices.filter { position in
            guard let tag = plan.manifests[position].tag, let (_, kind) = Cosign.parseTag(tag) else { return false }
            return kind == .referrers
        }
        let tasks = positions.map { plan.manifests[$0] }
        let adjusted = try await workers.map(tasks) { task, _ in try Self.adjusted(task, client: client) }
        for (position, task) in zip(positions, adjusted) { plan.manifests[position] = task }
    }

    /// `task` (a referrers index under its fallback tag) as it should be put: untagged where the
    /// registry has the referrers API, merged with what the tag holds where it has not.
    private static func adjusted(_ task: ManifestTask, client: RegistryClient) throws -> ManifestTask {
        guard let tag = task.tag, let (subject, _) = Cosign.parseTag(tag),
              case .index(let ours) = try ManifestDocument(decoding: task.data, mediaType: task.descriptor.mediaType) else { return task }
        var task = task
        if try client.referrers(repository: task.repository, subject: subject) != nil {
            task.tag = nil
            return task
        }
        let existing: FetchedManifest
        do {
            existing = try client.manifest(repository: task.repository, reference: tag, displayName: "\(task.repository):\(tag)")
        } catch RegistryError.manifestUnknown {
            return task
        }
        guard existing.digest != task.descriptor.digest, case .index(let theirs) = try existing.document() else { return task }
        let ourDigests = Set(ours.manifests.map(\.digest))
        let kept = theirs.manifests.filter { !ourDigests.contains($0.digest) }
        guard !kept.isEmpty else { return task }
        let merged = try JSONEncoder.canonical().encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: kept + ours.manifests))
        task.data = merged
        task.descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: Digest.sha256(of: merged), size: Int64(merged.count))
        return task
    }
}
