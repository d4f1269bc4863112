import Foundation
import Manifests

/// An image of the spec, resolved to exact digests: what goes into `index.json` and every
/// document and blob that entry reaches.
public struct ResolvedImage: Sendable {
    public var spec: ImageSpec
    /// What the reference pointed at upstream (an index or a single manifest).
    public var upstream: Descriptor
    /// What the bundle's `index.json` entry points at: the upstream document when it is carried
    /// whole, the platform manifest when one platform was asked for, or an index narrowed to the
    /// platforms asked for.
    public var bundled: Descriptor
    /// Manifest and index documents by digest, byte for byte as they will be stored.
    public var documents: [Digest: Data]
    /// Configs and layers, each once.
    public var blobs: [Descriptor]
    /// The platform manifests carried, with their platform as the index names it.
    public var platformManifests: [Descriptor]
    /// Signatures, attestations, SBOMs and referrers found beside it; nil when not looked for.
    public var signatures: [ResolvedSignature]? = nil
    /// The signatures that verified with the image's key, when it has one.
    public var keyChecks: [LockedKeyCheck]? = nil
}

public enum ResolveError: Error, CustomStringConvertible {
    case platformMissing(reference: String, wanted: String, offered: [String])
    case singlePlatformImage(reference: String, wanted: String, actual: String?)
    case unsupportedDigest(reference: String, digest: String)
    case foreignLayer(reference: String, digest: String)
    case descriptorMismatch(reference: String, digest: String, detail: String)

    public var description: String {
        switch self {
        case .platformMissing(let reference, let wanted, let offered):
            return "\(reference): no \(wanted) image in its index (it offers \(offered.isEmpty ? "none" : offered.joined(separator: ", "))); fix the platforms of this image in the spec"
        case .singlePlatformImage(let reference, let wanted, let actual):
            return "\(reference): a single-platform image for \(actual ?? "an unnamed platform"), not \(wanted); fix the platforms of this image in the spec"
        case .unsupportedDigest(let reference, let digest):
            return "\(reference): \(digest) is not a sha256 digest; airgap carries sha256 content only"
        case .foreignLayer(let reference, let digest):
            return "\(reference): layer \(digest) is a foreign (non-distributable) layer with external URLs; it cannot be carried"
        case .descriptorMismatch(let reference, let digest, let detail):
            return "\(reference): manifest \(digest) does not match its index entry (\(detail)); the upstream image is inconsistent"
        }
    }
}

/// Resolves an `ImageSpec` against its registry: fetches the manifest the reference names and,
/// for an index, the platform manifests asked for. Downloads no layer.
public struct ImageResolver: Sendable {
    public let pool: RegistryPool

    public init(pool: RegistryPool) {
        self.pool = pool
    }

    public func resolve(_ spec: ImageSpec) throws -> ResolvedImage {
        let reference = spec.reference
        let client = pool.client(for: reference.registry)
        let top = try client.manifest(repository: reference.repository, reference: reference.identifier, displayName: reference.description)
        var documents: [Digest: Data] = [top.digest: top.data]
        var blobs: [Digest: Descriptor] = [:]
        var platformManifests: [Descriptor] = []

        func addBlobs(of manifest: ImageManifest) throws {
            for blob in manifest.blobs {
                guard blob.digest.algorithm == .sha256 else {
                    throw ResolveError.unsupportedDigest(reference: reference.description, digest: blob.digest.description)
                }
                if let urls = blob.urls, !urls.isEmpty {
                    throw ResolveError.foreignLayer(reference: reference.description, digest: blob.digest.description)
                }
                blobs[blob.digest] = blob
            }
        }

        /// Fetches a child named by an index and checks it is what the index says it is.
        func fetchChild(_ descriptor: Descriptor) throws -> FetchedManifest {
            guard descriptor.digest.algorithm == .sha256 else {
                throw ResolveError.unsupportedDigest(reference: reference.description, digest: descriptor.digest.description)
            }
            let child = try client.manifest(repository: reference.repository, reference: descriptor.digest.description,
                                            displayName: "\(reference.name)@\(descriptor.digest)")
            guard Int64(child.data.count) == descriptor.size else {
                throw ResolveError.descriptorMismatch(reference: reference.description, digest: descriptor.digest.description,
                                                      detail: "\(child.data.count) bytes, the index says \(descriptor.size)")
            }
            documents[child.digest] = child.data
            return child
        }

        /// Carries an index whole: every child, nested indexes included, each visited once
        /// however many indexes name it (a DAG costs its size, not its paths).
        var visited = Set<Digest>()
        func addWholeIndex(_ index: ImageIndex, depth: Int) throws {
            for child in index.manifests where visited.insert(child.digest).inserted {
                try ImageIndex.checkNesting(depth + 1, at: child.digest)
                switch try fetchChild(child).document() {
                case .manifest(let manifest):
                    try addBlobs(of: manifest)
                    platformManifests.append(child)
                case .index(let nested):
                    try addWholeIndex(nested, depth: depth + 1)
                }
            }
        }

        let bundled: Descriptor
        switch try top.document() {
        case .manifest(let manifest):
            if spec.platformsExplicit, case .some(let wanted) = spec.platforms, wanted.count > 1 {
                throw ResolveError.singlePlatformImage(reference: reference.description,
                                                       wanted: wanted.map(\.description).joined(separator: ", "), actual: nil)
            }
            try addBlobs(of: manifest)
            bundled = top.descriptor
            platformManifests = [top.descriptor]
        case .index(let index):
            switch spec.platforms {
            case .all:
                try addWholeIndex(index, depth: 1)
                bundled = top.descriptor
            case .some(let wanted):
                let candidates = index.manifests.filter(Self.isRunnable)
                var selected: [Descriptor] = []
                for platform in wanted {
                    guard let match = candidates.first(where: { $0.platform.map(platform.accepts) ?? false }) else {
                        throw ResolveError.platformMissing(reference: reference.description, wanted: platform.description,
                                                           offered: candidates.compactMap { $0.platform?.description })
                    }
                    if !selected.contains(match) { selected.append(match) }
                }
                // Keep the upstream order, so the narrowed index reads like the original.
                selected = index.manifests.filter(selected.contains)
                for child in selected {
                    guard case .manifest(let manifest) = try fetchChild(child).document() else {
                        throw ResolveError.descriptorMismatch(reference: reference.description, digest: child.digest.description,
                                                              detail: "a nested index where a platform manifest was expected")
                    }
                    try addBlobs(of: manifest)
                }
                platformManifests = selected
                if selected.count == 1 {
                    bundled = selected[0]
                } else if selected.count == index.manifests.count {
                    bundled = top.descriptor
                } else {
                    let narrowed = Self.narrow(index, to: selected, upstream: top.digest)
                    let digest = Digest.sha256(of: narrowed)
                    documents[digest] = narrowed
                    bundled = Descriptor(mediaType: top.mediaType, digest: digest, size: Int64(narrowed.count))
                }
            }
        }
        // An upstream index that was narrowed or bypassed names manifests the bundle does not
        // carry: it stays out, or the bundle would not be self-consistent.
        if bundled.digest != top.digest { documents[top.digest] = nil }
        return ResolvedImage(spec: spec, upstream: top.descriptor, bundled: bundled, documents: documents,
                             blobs: blobs.values.sorted { $0.digest < $1.digest }, platformManifests: platformManifests)
    }

    /// Index entries that are images to run: not attestations, not `unknown/unknown`.
    static func isRunnable(_ descriptor: Descriptor) -> Bool {
        guard MediaType.isManifest(descriptor.mediaType), let platform = descriptor.platform else { return false }
        if descriptor.annotations?[AnnotationKey.dockerReferenceType] == "attestation-manifest" { return false }
        return platform.os != "unknown" && platform.architecture != "unknown"
    }

    /// A new index listing only `selected` (their descriptors unchanged), which a registry
    /// accepts as it is; the upstream index's digest is kept in an annotation.
    static func narrow(_ index: ImageIndex, to selected: [Descriptor], upstream: Digest) -> Data {
        var narrowed = index
        narrowed.manifests = selected
        narrowed.mediaType = index.mediaType ?? MediaType.ociIndex
        var annotations = index.annotations ?? [:]
        annotations[AnnotationKey.airgapUpstreamDigest] = upstream.description
        narrowed.annotations = annotations
        return try! JSONEncoder.canonical().encode(narrowed)
    }
}

extension ResolvedImage {
    /// The image as a bundle entry; blobs missing from the cache come from its registry.
    public var entry: BundleEntry {
        BundleEntry(kind: .image, reference: spec.reference.description, descriptor: bundled, documents: documents,
                    blobs: blobs, registry: (spec.reference.registry, spec.reference.repository))
    }

    /// Bytes of every blob the image carries, manifests included.
    public var totalSize: Int64 {
        documents.values.reduce(Int64(0)) { $0 + Int64($1.count) } + blobs.reduce(Int64(0)) { $0 + $1.size }
    }
}
