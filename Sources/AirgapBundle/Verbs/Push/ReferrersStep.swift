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

    func adjust(_ plan: inout PushPlan) async throws {
        let client = self.client
        for position in plan.manifests.indices {
            let task = plan.manifests[position]
            guard let tag = task.tag, let (subject, kind) = Cosign.parseTag(tag), kind == .referrers,
                  case .index(let ours) = try ManifestDocument(decoding: task.data, mediaType: task.descriptor.mediaType) else { continue }
            if try await workers.run({ try client.referrers(repository: task.repository, subject: subject) }) != nil {
                plan.manifests[position].tag = nil
                continue
            }
            let existing: FetchedManifest
            do {
                existing = try await workers.run { try client.manifest(repository: task.repository, reference: tag, displayName: "\(task.repository):\(tag)") }
            } catch RegistryError.manifestUnknown {
                continue
            }
            guard existing.digest != task.descriptor.digest, case .index(let theirs) = try existing.document() else { continue }
            let ourDigests = Set(ours.manifests.map(\.digest))
            let kept = theirs.manifests.filter { !ourDigests.contains($0.digest) }
            guard !kept.isEmpty else { continue }
            let merged = try JSONEncoder.canonical().encode(ImageIndex(mediaType: MediaType.ociIndex, manifests: kept + ours.manifests))
            plan.manifests[position].data = merged
            plan.manifests[position].descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: Digest.sha256(of: merged), size: Int64(merged.count))
        }
    }
}
