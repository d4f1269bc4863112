import Foundation
import Manifests

/// A cosign artifact (`.sig`, `.att`, `.sbom`) or referrers index found upstream beside an
/// image, resolved to its manifest and blobs, byte for byte as it will be carried.
public struct ResolvedSignature: Sendable {
    public var kind: Cosign.ArtifactKind
    /// The manifest of the image it is about.
    public var subject: Digest
    /// Where it lives: the image's registry and repository, and its tag there.
    public var registry: String
    public var repository: String
    public var tag: String
    /// The artifact's manifest, or the referrers index.
    public var descriptor: Descriptor
    public var documents: [Digest: Data]
    public var blobs: [Descriptor]

    /// The bundle's ref name, `<registry>/<repository>:<tag>`, which push turns back into the
    /// same tag in the internal registry.
    public var reference: String { "\(registry)/\(repository):\(tag)" }

    public var entry: BundleEntry {
        BundleEntry(kind: .signature, reference: reference, descriptor: descriptor, documents: documents, blobs: blobs,
                    registry: (registry, repository))
    }

    public var locked: LockedSignature {
        LockedSignature(kind: kind, subject: subject, reference: reference, bundled: Pin(descriptor))
    }
}
