import Foundation

/// An image or artifact manifest (OCI image manifest or Docker schema 2).
public struct ImageManifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(
        mediaType: String? = MediaType.ociManifest, artifactType: String? = nil, config: Descriptor,
        layers: [Descriptor], annotations: [String: String]? = nil
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    /// Every blob this manifest needs, config first.
    public var blobs: [Descriptor] { [config] + layers }
}

/// An image index (OCI) or manifest list (Docker).
public struct ImageIndex: Codable, Hashable, Sendable {
    /// How deep indexes may nest below a top-level entry (an index of indexes of manifests is
    /// depth 3). Real images use 2 or 3; every walk of the graph — pack, verify, inspect, push,
    /// audit — stops here, so a crafted chain thousands deep is an error, not a stack overflow.
    public static let maximumNesting = 8

    /// Throws unless a document found at `depth` (1 = the top) may be walked into.
    public static func checkNesting(_ depth: Int, at digest: CustomStringConvertible) throws {
        if depth > maximumNesting { throw ManifestError.nestedTooDeep(digest.description, limit: maximumNesting) }
    }

    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: String? = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }
}

/// A manifest document whose kind is known only once it has been read.
public enum ManifestDocument: Sendable {
    case manifest(ImageManifest)
    case index(ImageIndex)

    /// Decodes `data`, deciding the kind from `mediaType` (the descriptor's or the registry's
    /// `Content-Type`) or, failing that, from the document's own `mediaType` field and shape.
    public init(decoding data: Data, mediaType: String?) throws {
        let decoder = JSONDecoder()
        struct Probe: Decodable { var mediaType: String?; var manifests: [Descriptor]?; var schemaVersion: Int? }
        let probe: Probe
        do { probe = try decoder.decode(Probe.self, from: data) } catch {
            throw ManifestError.malformedDocument("not a JSON manifest (\(JSONErrorText.describe(error)))")
        }
        guard probe.schemaVersion == 2 else {
            throw ManifestError.malformedDocument("schemaVersion \(probe.schemaVersion.map(String.init) ?? "missing"), only 2 is supported")
        }
        let kind = [mediaType, probe.mediaType].compactMap { $0 }.first { MediaType.isIndex($0) || MediaType.isManifest($0) }
        do {
            if let kind {
                self = MediaType.isIndex(kind)
                    ? .index(try decoder.decode(ImageIndex.self, from: data))
                    : .manifest(try decoder.decode(ImageManifest.self, from: data))
            } else if probe.manifests != nil {
                self = .index(try decoder.decode(ImageIndex.self, from: data))
            } else {
                self = .manifest(try decoder.decode(ImageManifest.self, from: data))
            }
        } catch let error as DecodingError {
            throw ManifestError.malformedDocument(JSONErrorText.describe(error))
        }
    }

    /// Descriptors of everything this document points at directly.
    public var children: [Descriptor] {
        switch self {
        case .manifest(let manifest): return manifest.blobs + (manifest.subject.map { [$0] } ?? [])
        case .index(let index): return index.manifests
        }
    }
}
