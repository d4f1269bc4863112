import Foundation
import Manifests
import OCILayout

/// `ImageDigestMirrorSet` and `ImageTagMirrorSet` for OpenShift, mapping each source repository
/// to its mirror where pods pull from (`--pull-registry`, else the registry pushed to), as
/// oc-mirror writes them (`idms-NAME.yaml`, `itms-NAME.yaml`). NAME comes from the bundle, so a
/// second bundle's sets sit beside the first's, in the directory and in the cluster.
enum OpenShiftMirrors {
    /// `airgap-<bundle file stem>-<first 10 hex of index.json's SHA-256>`: a DNS label.
    static func setName(bundlePath: String, index: Data?) -> String {
        let stem = URL(fileURLWithPath: bundlePath).deletingPathExtension().lastPathComponent.lowercased()
        let label = String(stem.map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
            .split(separator: "-").joined(separator: "-")
        let digest = Digest.sha256(of: index ?? Data()).encoded.prefix(10)
        return "airgap-\(label.prefix(40))\(label.isEmpty ? "" : "-")\(digest)"
    }

    static func write(entries: [EntryReport], naming: RepositoryNaming, name: String, to directory: String) throws -> [String] {
        var mirrors: [String: String] = [:]
        for entry in entries where entry.kind == .image {
            guard let reference = try? Reference(parsing: entry.reference) else { continue }
            mirrors[reference.name] = naming.mirror(for: reference.repository)
        }
        let pairs = mirrors.sorted { $0.key < $1.key }
        func document(kind: String, field: String) -> String {
            var lines = ["apiVersion: config.openshift.io/v1", "kind: \(kind)", "metadata:", "  name: \(name)", "spec:", "  \(field):"]
            for (source, mirror) in pairs {
                lines += ["    - source: \(source)", "      mirrors:", "        - \(mirror)"]
            }
            return lines.joined(separator: "\n") + "\n"
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let digestSet = "\(directory)/idms-\(name).yaml"
        let tagSet = "\(directory)/itms-\(name).yaml"
        try AtomicFile.write(Data(document(kind: "ImageDigestMirrorSet", field: "imageDigestMirrors").utf8), to: digestSet)
        try AtomicFile.write(Data(document(kind: "ImageTagMirrorSet", field: "imageTagMirrors").utf8), to: tagSet)
        return [digestSet, tagSet]
    }
}
