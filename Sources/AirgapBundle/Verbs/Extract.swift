import Foundation
import Manifests
import OCILayout

/// What `airgap extract` wrote.
public struct ExtractSummary: Codable, Sendable {
    public var kind: BundleEntry.Kind
    public var reference: String
    public var digest: String
    /// The chart folder, the JAR file, or the OCI layout directory.
    public var output: String
    /// For an image: the ref name in the layout's index.json (`oci:DIR:NAME` for skopeo).
    public var layoutReference: String?
    public var files: Int
}

public enum ExtractError: Error, CustomStringConvertible {
    case notThisKind(reference: String, problem: String)
    case lockDisagrees(reference: String, lockSays: String, bundleHas: String)
    case outputTaken(path: String, problem: String)

    public var description: String {
        switch self {
        case .notThisKind(let reference, let problem):
            return "\(reference): \(problem); the bundle is not one airgap packed"
        case .lockDisagrees(let reference, let lockSays, let bundleHas):
            return "\(reference): the bundle's lock pins \(lockSays), but the bundle holds \(bundleHas); pack the bundle again"
        case .outputTaken(let path, let problem):
            return "\(path) \(problem); choose an empty or new --output directory"
        }
    }
}

/// `airgap extract BUNDLE REF --output DIR`: one artifact out of a bundle, for the tools that
/// want it on disk. A chart becomes `DIR/<name>/` (as `helm pull --untar`), a JAR `DIR/<file
/// name>`, an image an OCI layout at `DIR` that skopeo, umoci and oci-image-tool read (added to
/// the layout when DIR already is one). Every byte written is hashed against its digest on the
/// way (and a JAR also against the lock's SHA-256); every file appears whole (temporary name,
/// fsync, rename) and only inside DIR.
public struct Extractor: Sendable {
    public init() {}

    public func extract(_ bundle: String, reference query: String, to output: String) async throws -> ExtractSummary {
        // The graph, every document and the lock inside are checked here; the blobs taken out are
        // hashed as they are written.
        let (layout, _) = try await BundleVerifier(progress: .silent).open(bundle, thorough: false)
        let lock = layout.lock
        let entry = try EntryLookup.find(query, in: layout.items, lock: lock, bundle: bundle)
        let top = entry.descriptor
        return try await layout.workers.run {
            switch entry.kind {
            case .chart: return try extractChart(entry, top: top, layout: layout, lock: lock, output: output)
            case .jar: return try extractJar(entry, top: top, layout: layout, lock: lock, output: output)
            // A signature artifact or referrers index is an OCI manifest or index: a layout too.
            case .image, .signature: return try extractImage(entry, top: top, layout: layout, output: output)
            }
        }
    }

    /// The single-layer manifest of a JAR or chart artifact, and that layer.
    static func artifactLayer(_ entry: BundleItem, top: Descriptor, layout: BundleReader, mediaType: String) throws -> (ImageManifest, Descriptor) {
        guard let data = layout.documents[top.digest], case .manifest(let manifest) = try ManifestDocument(decoding: data, mediaType: top.mediaType),
              let layer = manifest.layers.first(where: { $0.mediaType == mediaType })
        else { throw ExtractError.notThisKind(reference: entry.reference, problem: "has no \(mediaType) layer") }
        return (manifest, layer)
    }

    func extractChart(_ entry: BundleItem, top: Descriptor, layout: BundleReader, lock: Lockfile?, output: String) throws -> ExtractSummary {
        let (_, layer) = try Self.artifactLayer(entry, top: top, layout: layout, mediaType: MediaType.helmChartContent)
        let name = try Self.chartName(entry, layer: layer, lock: lock)
        let directory = try ChartUnpacker(source: layout.source(for: layer), chartName: name, label: entry.reference).unpack(into: output)
        let files = FileManager.default.enumerator(atPath: directory)?.allObjects.count ?? 0
        return ExtractSummary(kind: .chart, reference: entry.reference, digest: layer.digest.description, output: directory, files: files)
    }

    /// The chart's name, from the lock (cross-checked against the archive's digest), else from
    /// the ref name `charts/<name>:<version>`.
    static func chartName(_ entry: BundleItem, layer: Descriptor, lock: Lockfile?) throws -> String {
        if let locked = lock?.charts.first(where: { $0.reference == entry.reference }) {
            if let digest = locked.digest, digest != layer.digest {
                throw ExtractError.lockDisagrees(reference: entry.reference, lockSays: digest.description, bundleHas: layer.digest.description)
            }
            return locked.name
        }
        let name = entry.reference.dropFirst("charts/".count).split(separator: ":").first.map(String.init) ?? ""
        guard entry.reference.hasPrefix("charts/"), Self.isPlainFileName(name) else {
            throw ExtractError.notThisKind(reference: entry.reference, problem: "is not named charts/<name>:<version>")
        }
        return name
    }

    func extractJar(_ entry: BundleItem, top: Descriptor, layout: BundleReader, lock: Lockfile?, output: String) throws -> ExtractSummary {
        let (manifest, layer) = try Self.artifactLayer(entry, top: top, layout: layout, mediaType: ArtifactManifests.jarMediaType)
        let locked = lock?.jars.first { $0.reference == entry.reference }
        if let sha256 = locked?.sha256, sha256 != layer.digest {
            throw ExtractError.lockDisagrees(reference: entry.reference, lockSays: sha256.description, bundleHas: layer.digest.description)
        }
        let coordinate = locked?.coordinates
            ?? manifest.annotations?[ArtifactManifests.mavenCoordinatesAnnotation].flatMap { try? MavenCoordinate(parsing: $0) }
        let title = layer.annotations?[AnnotationKey.title]
        guard let name = coordinate?.fileName ?? title, Self.isPlainFileName(name) else {
            throw ExtractError.notThisKind(reference: entry.reference, problem: "names no safe file name for the JAR (\(title ?? "none"))")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let target = "\(output)/\(name)"
        try layout.source(for: layer).writeChecked(to: target)
        return ExtractSummary(kind: .jar, reference: entry.reference, digest: layer.digest.description, output: target, files: 1)
    }

    func extractImage(_ entry: BundleItem, top: Descriptor, layout: BundleReader, output: String) throws -> ExtractSummary {
        let existingIndex = try Self.prepareLayout(output)
        // Children before the documents that name them, so the layout is whole at every moment
        // a reader could look; index.json last.
        var written = Set<Digest>()
        var files = 0
        func visit(_ descriptor: Descriptor) throws {
            guard written.insert(descriptor.digest).inserted else { return }
            if let data = layout.documents[descriptor.digest] {
                if let document = try? ManifestDocument(decoding: data, mediaType: descriptor.mediaType),
                   MediaType.isIndex(descriptor.mediaType) || MediaType.isManifest(descriptor.mediaType) {
                    for child in document.children { try visit(child) }
                }
            }
            let target = "\(output)/\(LayoutPath.blobName(descriptor.digest))"
            try FileManager.default.createDirectory(atPath: "\(output)/blobs/\(descriptor.digest.algorithm.rawValue)", withIntermediateDirectories: true)
            if FileDescriptor.size(atPath: target) == descriptor.size { return }
            if let data = layout.documents[descriptor.digest] {
                try AtomicFile.write(data, to: target)
            } else {
                try layout.source(for: descriptor).writeChecked(to: target)
            }
            files += 1
        }
        try visit(top)
        if !FileManager.default.fileExists(atPath: "\(output)/\(LayoutPath.layoutFileName)") {
            try AtomicFile.write(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: "\(output)/\(LayoutPath.layoutFileName)")
        }
        var index = existingIndex ?? ImageIndex(manifests: [])
        index.manifests.removeAll { $0.annotations?[AnnotationKey.refName] == entry.reference }
        var named = top
        named.annotations = [AnnotationKey.refName: entry.reference]
        index.manifests.append(named)
        try AtomicFile.write(try JSONEncoder.canonical().encode(index), to: "\(output)/\(LayoutPath.indexFileName)")
        return ExtractSummary(kind: entry.kind, reference: entry.reference, digest: top.digest.description, output: output,
                              layoutReference: entry.reference, files: files + 1)
    }

    /// An image goes into a new or empty directory, or into an OCI layout (whose index it returns).
    static func prepareLayout(_ output: String) throws -> ImageIndex? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { throw ExtractError.outputTaken(path: output, problem: "is a file") }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        if contents.isEmpty { return nil }
        guard contents.contains(LayoutPath.layoutFileName) else {
            throw ExtractError.outputTaken(path: output, problem: "holds files and is not an OCI layout (no oci-layout file)")
        }
        guard let data = FileManager.default.contents(atPath: "\(output)/\(LayoutPath.indexFileName)") else { return nil }
        guard case .index(let index)? = try? ManifestDocument(decoding: data, mediaType: MediaType.ociIndex) else {
            throw ExtractError.outputTaken(path: "\(output)/\(LayoutPath.indexFileName)", problem: "is not an OCI index")
        }
        return index
    }

    /// A name that is one path component and not hidden: safe to join to a directory.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && !name.contains("\0") && name.count <= 255
    }
}
