import Foundation
import Manifests
import OCILayout

/// `ImageDigestMirrorSet` and `ImageTagMirrorSet` for OpenShift, mapping each source repository
/// to its mirror in the internal registry, as oc-mirror writes them.
enum OpenShiftMirrors {
    static func write(entries: [PushSummary.PushedEntry], naming: RepositoryNaming, to directory: String) throws -> [String] {
        var mirrors: [String: String] = [:]
        for entry in entries where entry.kind == .image {
            guard let reference = try? Reference(parsing: entry.source) else { continue }
            mirrors[reference.name] = naming.mirror(for: reference.repository)
        }
        let pairs = mirrors.sorted { $0.key < $1.key }
        func document(kind: String, field: String) -> String {
            var lines = ["apiVersion: config.openshift.io/v1", "kind: \(kind)", "metadata:", "  name: airgap", "spec:", "  \(field):"]
            for (source, mirror) in pairs {
                lines += ["    - source: \(source)", "      mirrors:", "        - \(mirror)"]
            }
            return lines.joined(separator: "\n") + "\n"
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let digestSet = "\(directory)/imageDigestMirrorSet.yaml"
        let tagSet = "\(directory)/imageTagMirrorSet.yaml"
        try AtomicFile.write(Data(document(kind: "ImageDigestMirrorSet", field: "imageDigestMirrors").utf8), to: digestSet)
        try AtomicFile.write(Data(document(kind: "ImageTagMirrorSet", field: "imageTagMirrors").utf8), to: tagSet)
        return [digestSet, tagSet]
    }
}
