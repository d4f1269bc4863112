import Foundation
import Manifests

/// One `index.json` entry of a bundle, and everything it brings: the documents (manifests,
/// indexes, small configs) held in memory, and the blobs to take from the cache or a registry.
public struct BundleEntry: Sendable {
    public enum Kind: String, Codable, Sendable { case image, jar, chart, signature }

    public var kind: Kind
    /// The entry's `org.opencontainers.image.ref.name`.
    public var reference: String
    /// What `index.json` points at.
    public var descriptor: Descriptor
    public var documents: [Digest: Data]
    public var blobs: [Descriptor]
    /// Where blobs missing from the cache are fetched; nil when resolution put them there.
    public var registry: (name: String, repository: String)?
}

/// OCI artifact manifests for what is not an image, so that any OCI tool sees JARs and charts.
public enum ArtifactManifests {
    /// The empty JSON object, config of artifacts that have none (OCI image-spec 1.1).
    public static let emptyConfig = Data("{}".utf8)
    public static let jarMediaType = "application/java-archive"
    public static let mavenCoordinatesAnnotation = "io.airgap.maven.coordinates"

    public static var emptyConfigDescriptor: Descriptor {
        Descriptor(mediaType: MediaType.ociEmpty, digest: Digest.sha256(of: emptyConfig), size: Int64(emptyConfig.count))
    }

    /// A JAR as an artifact: `artifactType` and layer `application/java-archive`, the empty
    /// config, the file name as the layer's title (what `oras pull` names the file).
    public static func jar(_ jar: ResolvedJar) -> BundleEntry {
        let layer = Descriptor(mediaType: jarMediaType, digest: jar.digest, size: jar.size,
                               annotations: [AnnotationKey.title: jar.coordinate.fileName])
        let manifest = ImageManifest(artifactType: jarMediaType, config: emptyConfigDescriptor, layers: [layer],
                                     annotations: [mavenCoordinatesAnnotation: jar.coordinate.description,
                                                   AnnotationKey.version: jar.coordinate.version])
        return entry(kind: .jar, reference: jar.coordinate.bundleReference, manifest: manifest,
                     documents: [emptyConfigDescriptor.digest: emptyConfig], blobs: [layer])
    }

    /// A chart the way `helm push` stores it: config = Chart.yaml as JSON with Helm's config
    /// type, one layer = the chart archive, so `helm pull oci://…` works once pushed.
    public static func chart(_ chart: PackagedChart) -> BundleEntry {
        let config = Descriptor(mediaType: MediaType.helmConfig, digest: Digest.sha256(of: chart.config), size: Int64(chart.config.count))
        let manifest = ImageManifest(config: config, layers: [chart.archive],
                                     annotations: [AnnotationKey.title: chart.name, AnnotationKey.version: chart.version])
        return entry(kind: .chart, reference: LockedChart.reference(name: chart.name, version: chart.version), manifest: manifest,
                     documents: [config.digest: chart.config], blobs: [chart.archive])
    }

    private static func entry(kind: BundleEntry.Kind, reference: String, manifest: ImageManifest,
                              documents: [Digest: Data], blobs: [Descriptor]) -> BundleEntry {
        let data = try! JSONEncoder.canonical().encode(manifest)
        let descriptor = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.sha256(of: data), size: Int64(data.count),
                                    artifactType: manifest.artifactType)
        var documents = documents
        documents[descriptor.digest] = data
        return BundleEntry(kind: kind, reference: reference, descriptor: descriptor, documents: documents, blobs: blobs, registry: nil)
    }
}
