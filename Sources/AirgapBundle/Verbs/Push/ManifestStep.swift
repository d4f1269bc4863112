import Foundation
import Manifests

/// One manifest the registry lacks: by digest, then by tag. Blocking: `PushSchedule` runs it on
/// the push's pool once everything it names is in the registry. Used for the bundle and for the
/// libs image.
struct ManifestStep: Sendable {
    var client: RegistryClient

    /// Returns the PUTs sent.
    func put(_ missing: MissingManifest) throws -> Int {
        let task = missing.task
        var puts = 0
        if missing.byDigest {
            try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: task.descriptor.digest.description)
            puts += 1
        }
        if missing.byTag, let tag = task.tag {
            try client.putManifest(task.data, mediaType: task.descriptor.mediaType, repository: task.repository, reference: tag)
            puts += 1
        }
        return puts
    }

    /// What `task` needs in its repository before it may be put: the blobs and manifests it
    /// names, and its subject (a referrer's `subject`, or the manifest a cosign or referrers
    /// fallback tag is about), so no registry sees a parent before its children.
    static func dependencies(of task: ManifestTask) -> [Digest] {
        var digests = children(of: task)
        switch try? ManifestDocument(decoding: task.data, mediaType: task.descriptor.mediaType) {
        case .some(.manifest(let manifest)): if let subject = manifest.subject { digests.append(subject.digest) }
        case .some(.index(let index)): if let subject = index.subject { digests.append(subject.digest) }
        case .none: break
        }
        if let tag = task.tag, let (subject, _) = Cosign.parseTag(tag) { digests.append(subject) }
        return digests.filter { $0 != task.descriptor.digest }
    }

    /// What `task` names and a registry makes sure of before it stores it: the blobs of an
    /// image manifest, the manifests of an index. (Not a subject: registries take referrers
    /// whose subject they lack.)
    static func children(of task: ManifestTask) -> [Digest] {
        switch try? ManifestDocument(decoding: task.data, mediaType: task.descriptor.mediaType) {
        case .some(.manifest(let manifest)): return manifest.blobs.map(\.digest)
        case .some(.index(let index)): return index.manifests.map(\.digest)
        case .none: return []
        }
    }
}
