import Foundation
import Manifests
import OCILayout

/// One bundle entry in detail, for `airgap inspect BUNDLE REF`: an image's platforms with their
/// manifest, config and layers; a JAR's file name and SHA-256 (what `sha256sum` prints for the
/// extracted file); a chart's name, version and archive.
public struct ArtifactDetail: Codable, Sendable {
    public struct Blob: Codable, Sendable {
        public var mediaType: String
        public var digest: String
        public var size: Int64
    }

    public struct PlatformManifest: Codable, Sendable {
        public var platform: String
        public var manifest: Blob
        public var config: Blob
        public var layers: [Blob]
    }

    public struct Jar: Codable, Sendable {
        public var fileName: String
        /// Lowercase hex, as `sha256sum` prints it.
        public var sha256: String
        public var size: Int64
        public var coordinates: String?
        /// Where `pack` downloaded it, from the lock.
        public var url: String?
    }

    public struct Chart: Codable, Sendable {
        public var name: String
        public var version: String
        public var archive: Blob
    }

    public var kind: BundleEntry.Kind
    public var reference: String
    public var mediaType: String
    public var digest: String
    /// Bytes of every distinct blob the entry reaches.
    public var bytes: Int64
    public var platforms: [PlatformManifest]
    public var jar: Jar?
    public var chart: Chart?

    public static func describe(_ entry: BundleItem, in layout: BundleReader) throws -> ArtifactDetail {
        let lock = layout.lock
        var detail = ArtifactDetail(kind: entry.kind, reference: entry.reference, mediaType: entry.descriptor.mediaType,
                                    digest: entry.descriptor.digest.description, bytes: entry.bytes, platforms: [])
        func blob(_ descriptor: Descriptor) -> Blob {
            Blob(mediaType: descriptor.mediaType, digest: descriptor.digest.description, size: descriptor.size)
        }
        func visit(_ descriptor: Descriptor) throws {
            guard let data = layout.documents[descriptor.digest] else { return }
            switch try ManifestDocument(decoding: data, mediaType: descriptor.mediaType) {
            case .index(let index):
                for child in index.manifests { try visit(child) }
            case .manifest(let manifest):
                detail.platforms.append(PlatformManifest(
                    platform: descriptor.platform?.description ?? "unspecified", manifest: blob(descriptor),
                    config: blob(manifest.config), layers: manifest.layers.map(blob)))
            }
        }
        let top = entry.descriptor
        try visit(top)
        switch entry.kind {
        case .image, .signature:
            break
        case .jar:
            let (manifest, layer) = try Extractor.artifactLayer(entry, top: top, layout: layout, mediaType: ArtifactManifests.jarMediaType)
            let locked = lock?.jars.first { $0.reference == entry.reference }
            let coordinates = locked?.coordinates.description ?? manifest.annotations?[ArtifactManifests.mavenCoordinatesAnnotation]
            detail.jar = Jar(fileName: locked?.coordinates.fileName ?? layer.annotations?[AnnotationKey.title] ?? "?",
                             sha256: layer.digest.encoded, size: layer.size, coordinates: coordinates, url: locked?.url)
            detail.platforms = []
        case .chart:
            let (manifest, layer) = try Extractor.artifactLayer(entry, top: top, layout: layout, mediaType: MediaType.helmChartContent)
            let name = (try? Extractor.chartName(entry, layer: layer, lock: lock)) ?? manifest.annotations?[AnnotationKey.title] ?? "?"
            detail.chart = Chart(name: name, version: manifest.annotations?[AnnotationKey.version] ?? "?", archive: blob(layer))
            detail.platforms = []
        }
        return detail
    }

    /// The text `inspect BUNDLE REF` prints.
    public var text: String {
        var lines = ["reference:  \(reference)", "kind:       \(kind.rawValue)", "media type: \(mediaType)", "digest:     \(digest)",
                     "size:       \(ByteCount.format(bytes))"]
        if let jar {
            lines += ["file:       \(jar.fileName)", "sha256:     \(jar.sha256)  (sha256sum \(jar.fileName))", "jar size:   \(jar.size) bytes"]
            if let coordinates = jar.coordinates { lines.append("maven:      \(coordinates)") }
            if let url = jar.url { lines.append("from:       \(url)") }
        }
        if let chart {
            lines += ["chart:      \(chart.name) \(chart.version)", "archive:    \(chart.archive.digest) (\(chart.archive.size) bytes)"]
        }
        for platform in platforms {
            lines.append("platform \(platform.platform):")
            lines.append("  manifest  \(platform.manifest.digest)  \(ByteCount.format(platform.manifest.size))")
            lines.append("  config    \(platform.config.digest)  \(ByteCount.format(platform.config.size))")
            for (number, layer) in platform.layers.enumerated() {
                lines.append("  layer \(number + 1)   \(layer.digest)  \(ByteCount.format(layer.size))  \(layer.mediaType)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
