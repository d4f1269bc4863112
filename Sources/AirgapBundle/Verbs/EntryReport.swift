import Foundation
import Manifests

/// One entry of a bundle as every `--json` document shows it: `pack`, `verify`, `inspect` and
/// `push` print the same shape (schemas/entry.schema.json), so a pipeline reads one. A field
/// only one verb knows is there only from that verb: `upstreamDigest` from pack, `target` from
/// push, `artifact`/`subject` for signature entries.
public struct EntryReport: Codable, Sendable {
    public var kind: BundleEntry.Kind
    /// The entry's `org.opencontainers.image.ref.name` (for push's libs image, a description).
    public var reference: String
    public var mediaType: String
    public var digest: String
    /// Platforms of the manifests carried (`unspecified` where the index names none).
    public var platforms: [String]
    /// Bytes of every distinct blob the entry reaches, manifests included.
    public var bytes: Int64
    public var blobs: Int
    /// For signature entries: `sig`, `att`, `sbom` or `referrers`, and the manifest it is about.
    public var artifact: String?
    public var subject: String?
    /// Pack: what the reference pointed at upstream (differs from `digest` when an index was
    /// narrowed to the platforms asked for).
    public var upstreamDigest: String?
    /// Push: `HOST/repository:tag@digest` in the internal registry.
    public var target: String?

    public init(kind: BundleEntry.Kind, reference: String, mediaType: String, digest: String, platforms: [String],
                bytes: Int64, blobs: Int) {
        self.kind = kind
        self.reference = reference
        self.mediaType = mediaType
        self.digest = digest
        self.platforms = platforms
        self.bytes = bytes
        self.blobs = blobs
        // A signature entry's tag (`sha256-<hex>.sig`) says what it is and which manifest it is about.
        if kind == .signature, let tag = (try? Reference(parsing: reference))?.tag.flatMap(Cosign.parseTag) {
            artifact = tag.kind.rawValue
            subject = tag.subject.description
        }
    }

    /// An entry as read from a bundle.
    public init(_ item: BundleItem) {
        self.init(kind: item.kind, reference: item.reference, mediaType: item.descriptor.mediaType,
                  digest: item.descriptor.digest.description, platforms: item.platforms, bytes: item.bytes, blobs: item.blobs.count)
    }

    /// An entry as pack wrote it: counted from its documents and blobs, the way a reader of the
    /// bundle counts it (`BundleGraph`), so pack and verify print the same numbers.
    init(_ entry: BundleEntry, sizes: [Digest: Int64]) {
        let reached = Set(entry.documents.keys).union(entry.blobs.map(\.digest)).union([entry.descriptor.digest])
        self.init(kind: entry.kind, reference: entry.reference, mediaType: entry.descriptor.mediaType,
                  digest: entry.descriptor.digest.description, platforms: Self.platforms(of: entry.descriptor, documents: entry.documents),
                  bytes: reached.reduce(0) { $0 + (sizes[$1] ?? 0) }, blobs: reached.count)
    }

    /// Each manifest's platform in graph order, nested indexes included, once each.
    static func platforms(of descriptor: Descriptor, documents: [Digest: Data]) -> [String] {
        var platforms: [String] = []
        func visit(_ descriptor: Descriptor, depth: Int) {
            if MediaType.isManifest(descriptor.mediaType) {
                let name = descriptor.platform?.description ?? "unspecified"
                if !platforms.contains(name) { platforms.append(name) }
            } else if MediaType.isIndex(descriptor.mediaType), depth <= ImageIndex.maximumNesting,
                      let data = documents[descriptor.digest],
                      case .index(let index)? = try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType) {
                for child in index.manifests { visit(child, depth: depth + 1) }
            }
        }
        visit(descriptor, depth: 1)
        return platforms
    }
}
