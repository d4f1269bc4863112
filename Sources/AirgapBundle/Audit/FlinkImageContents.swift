import Foundation
import Manifests
import OCILayout

/// What the bundled Flink image really holds: the JAR names in its `/opt/flink/lib` and its
/// `FLINK_VERSION`, read from the bundle in place, for the Flink rules to check against.
enum FlinkImageContents {
    /// The Flink image's own lib/ (from its layers, in order, with whiteouts) and its
    /// FLINK_VERSION, read from the bundle.
    static func read(_ image: LockedImage, from bundle: BundleReader) throws -> ((names: Set<String>, source: String)?, String?) {
        guard let platform = image.manifests.first(where: { $0.platform.hasPrefix("linux/amd64") }) ?? image.manifests.first,
              let manifestData = bundle.documents[platform.digest],
              case .manifest(let manifest)? = try? ManifestDocument(decoding: manifestData, mediaType: nil)
        else { return (nil, nil) }
        var version: String?
        if let configData = bundle.documents[manifest.config.digest],
           let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any],
           let env = (config["config"] as? [String: Any])?["Env"] as? [String] {
            version = env.first { $0.hasPrefix("FLINK_VERSION=") }.map { String($0.dropFirst("FLINK_VERSION=".count)) }
        }
        var lib = Set<String>()
        for layer in manifest.layers where bundle.snapshot.dataOffsets[layer.digest] != nil {
            let source = try bundle.source(for: layer)
            for name in try ArchiveProbe.entryNames(inLayerAt: source.offset, length: layer.size, of: bundle.file) {
                let path = name.hasPrefix("./") ? String(name.dropFirst(2)) : name
                guard path.hasPrefix("opt/flink/lib/") else { continue }
                let file = String(path.dropFirst("opt/flink/lib/".count))
                if file.hasPrefix(".wh.") {
                    lib.remove(FlinkCompatibility.artifactName(ofJar: String(file.dropFirst(4))))
                } else if file.hasSuffix(".jar") {
                    lib.insert(FlinkCompatibility.artifactName(ofJar: file))
                }
            }
        }
        return ((lib, "read from the bundled image \(image.reference)"), version)
    }
}
