import Foundation
import Manifests
import OCILayout

/// A set of registry names shared between threads.
final class RegistrySet: @unchecked Sendable {
    private let lock = NSLock()
    private var names = Set<String>()

    func contains(_ name: String) -> Bool { lock.lock(); defer { lock.unlock() }; return names.contains(name) }
    func insert(_ name: String) { lock.lock(); names.insert(name); lock.unlock() }
}

/// Finds what signs and describes an image upstream: cosign's tag-scheme artifacts
/// (`sha256-<hex>.sig`, `.att`, `.sbom`) and OCI 1.1 referrers, through the referrers API where
/// the registry has it and the `sha256-<hex>` fallback tag otherwise. Fetches manifests only;
/// their blobs come with the image's at pack time.
struct SignatureFinder {
    var client: RegistryClient
    /// Registries known to lack the referrers API, shared by every image of one run: a 404 is
    /// asked once per registry, not once per manifest.
    var noReferrersAPI: RegistrySet = RegistrySet()

    /// The manifests a signature may be about: the image's own digest (when the bundle carries
    /// the upstream document unchanged) and every platform manifest carried.
    static func subjects(of image: ResolvedImage) -> [Digest] {
        var subjects: [Digest] = image.bundled.digest == image.upstream.digest ? [image.upstream.digest] : []
        for manifest in image.platformManifests where !subjects.contains(manifest.digest) { subjects.append(manifest.digest) }
        return subjects
    }

    func find(for image: ResolvedImage) throws -> [ResolvedSignature] {
        var found: [ResolvedSignature] = []
        for subject in Self.subjects(of: image) {
            for kind in [Cosign.ArtifactKind.signature, .attestation, .sbom] {
                if let artifact = try taggedArtifact(image, subject: subject, kind: kind) { found.append(artifact) }
            }
            if let referrers = try referrers(image, subject: subject) { found.append(referrers) }
        }
        return found
    }

    private func name(_ image: ResolvedImage, _ tag: String) -> String {
        "\(image.spec.reference.name):\(tag)"
    }

    private func fetch(_ image: ResolvedImage, _ reference: String, display: String) throws -> FetchedManifest? {
        do {
            return try client.manifest(repository: image.spec.reference.repository, reference: reference, displayName: display)
        } catch RegistryError.manifestUnknown {
            return nil
        }
    }

    /// Blobs of an artifact manifest: sha256 only, none foreign.
    private func blobs(of manifest: ImageManifest, display: String) throws -> [Descriptor] {
        for blob in manifest.blobs {
            guard blob.digest.algorithm == .sha256 else { throw ResolveError.unsupportedDigest(reference: display, digest: blob.digest.description) }
            if let urls = blob.urls, !urls.isEmpty { throw ResolveError.foreignLayer(reference: display, digest: blob.digest.description) }
        }
        return manifest.blobs
    }

    private func taggedArtifact(_ image: ResolvedImage, subject: Digest, kind: Cosign.ArtifactKind) throws -> ResolvedSignature? {
        let tag = Cosign.tag(for: subject, kind: kind)
        let display = name(image, tag)
        guard let fetched = try fetch(image, tag, display: display) else { return nil }
        guard case .manifest(let manifest) = try fetched.document() else {
            throw ResolveError.descriptorMismatch(reference: display, digest: fetched.digest.description,
                                                  detail: "an index where cosign keeps a single artifact manifest")
        }
        return ResolvedSignature(kind: kind, subject: subject, registry: image.spec.reference.registry,
                                 repository: image.spec.reference.repository, tag: tag, descriptor: fetched.descriptor,
                                 documents: [fetched.digest: fetched.data], blobs: try blobs(of: manifest, display: display))
    }

    /// The referrers of `subject` as one index: the registry's own answer rewritten canonically
    /// (sorted by digest, so the same set gives the same bytes), or the fallback tag's index as
    /// it is. Empty sets are not carried.
    private func referrers(_ image: ResolvedImage, subject: Digest) throws -> ResolvedSignature? {
        let tag = Cosign.tag(for: subject, kind: .referrers)
        let display = name(image, tag)
        let repository = image.spec.reference.repository
        var documents: [Digest: Data] = [:]
        let index: ImageIndex
        let descriptor: Descriptor
        let answer = noReferrersAPI.contains(client.endpoint.name) ? nil : try client.referrers(repository: repository, subject: subject)
        if answer == nil { noReferrersAPI.insert(client.endpoint.name) }
        if let answer {
            let canonical = ImageIndex(mediaType: MediaType.ociIndex, manifests: answer.manifests.sorted { $0.digest < $1.digest })
            let data = try JSONEncoder.canonical().encode(canonical)
            descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: Digest.sha256(of: data), size: Int64(data.count))
            documents[descriptor.digest] = data
            index = canonical
        } else if let fetched = try fetch(image, tag, display: display) {
            guard case .index(let parsed) = try fetched.document() else {
                throw ResolveError.descriptorMismatch(reference: display, digest: fetched.digest.description,
                                                      detail: "not an index, which the OCI referrers tag schema requires")
            }
            descriptor = fetched.descriptor
            documents[fetched.digest] = fetched.data
            index = parsed
        } else {
            return nil
        }
        guard !index.manifests.isEmpty else { return nil }
        var blobs: [Digest: Descriptor] = [:]
        for child in index.manifests {
            let childName = "\(image.spec.reference.name)@\(child.digest)"
            guard child.digest.algorithm == .sha256, MediaType.isManifest(child.mediaType) else {
                throw ResolveError.descriptorMismatch(reference: display, digest: child.digest.description,
                                                      detail: "a referrer that is not an image manifest (\(child.mediaType))")
            }
            guard let fetched = try fetch(image, child.digest.description, display: childName) else {
                throw RegistryError.manifestUnknown(reference: "\(childName) (listed as a referrer of \(subject.short))")
            }
            guard Int64(fetched.data.count) == child.size, case .manifest(let manifest) = try fetched.document() else {
                throw ResolveError.descriptorMismatch(reference: display, digest: child.digest.description,
                                                      detail: "\(fetched.data.count) bytes, the referrers index says \(child.size)")
            }
            documents[fetched.digest] = fetched.data
            for blob in try self.blobs(of: manifest, display: childName) { blobs[blob.digest] = blob }
        }
        return ResolvedSignature(kind: .referrers, subject: subject, registry: image.spec.reference.registry, repository: repository,
                                 tag: tag, descriptor: descriptor, documents: documents,
                                 blobs: blobs.values.sorted { $0.digest < $1.digest })
    }
}
