import Foundation
import Manifests
import OCILayout

/// What `push --chart-dir` does to a chart: the locked JARs into `files/libs/` (each written to a
/// temporary name, checked against its locked SHA-256, synced and renamed, so no partial JAR is
/// ever visible), stray JARs reported or pruned, and `values-airgap.yaml` pointing the chart at
/// the internal registry.
struct ChartDirectoryWriter {
    struct Jar {
        var fileName: String
        var digest: Digest
        var size: Int64
    }

    let directory: String
    let jars: [Jar]
    let strays: [String]
    let bundle: VerifiedBundle

    var libsDirectory: String { "\(directory)/files/libs" }
    static let valuesFile = "values-airgap.yaml"

    init(directory: String, lock: Lockfile?, bundle: VerifiedBundle) throws {
        guard FileManager.default.fileExists(atPath: "\(directory)/Chart.yaml") else {
            throw PushError.chartDirectory(directory, "no Chart.yaml; --chart-dir names the chart whose files/libs/ gets the JARs")
        }
        self.directory = directory
        self.bundle = bundle
        var jars: [Jar] = []
        for jar in lock?.jars ?? [] {
            guard let digest = jar.sha256, let size = jar.size else { throw PushError.unlockedJar(jar.reference) }
            jars.append(Jar(fileName: jar.coordinates.fileName, digest: digest, size: size))
        }
        self.jars = jars
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/files/libs")) ?? []).filter { $0.hasSuffix(".jar") }
        let locked = Set(jars.map(\.fileName))
        self.strays = present.filter { !locked.contains($0) }.sorted()
    }

    func plan(prune: Bool) -> [String] {
        jars.map { "jar \(libsDirectory)/\($0.fileName) (\($0.digest))" }
            + strays.map { prune ? "remove stray \(libsDirectory)/\($0)" : "stray \(libsDirectory)/\($0) (not in the lock; --prune removes it)" }
            + ["values \(directory)/\(Self.valuesFile)"]
    }

    struct Result {
        var written: [String] = []
        var strays: [String] = []
        var pruned: [String] = []
        var files: [String] = []
    }

    func write(from file: FileDescriptor, prune: Bool, registry: String,
               options: PushOptions, entries: [PushSummary.PushedEntry], libsImage: PushedImage?) throws -> Result {
        var result = Result(strays: strays)
        try FileManager.default.createDirectory(atPath: libsDirectory, withIntermediateDirectories: true)
        for jar in jars {
            let source = try bundle.blobSource(Descriptor(mediaType: ArtifactManifests.jarMediaType, digest: jar.digest, size: jar.size), in: file)
            let target = "\(libsDirectory)/\(jar.fileName)"
            try AtomicFile.write(to: target) { output in
                let hasher = SHA256Hasher()
                try source.forEachChunk { chunk in
                    hasher.update(chunk)
                    try output.write(chunk)
                }
                let actual = hasher.finalize()
                guard actual == jar.digest else {
                    throw LayoutError.digestMismatch(path: target, expected: jar.digest.description, actual: actual.description)
                }
            }
            result.written.append(jar.fileName)
        }
        if prune {
            for stray in strays {
                try FileManager.default.removeItem(atPath: "\(libsDirectory)/\(stray)")
                result.pruned.append(stray)
            }
        }
        let values = "\(directory)/\(Self.valuesFile)"
        try AtomicFile.write(Data(valuesDocument(registry: registry, options: options, entries: entries, libsImage: libsImage).utf8), to: values)
        result.files.append(values)
        return result
    }

    /// The image the chart runs: the one named `…/flink`, else the first image.
    func chartImage(_ entries: [PushSummary.PushedEntry]) -> PushSummary.PushedEntry? {
        let images = entries.filter { $0.kind == .image }
        return images.first { (try? Reference(parsing: $0.source))?.repository.split(separator: "/").last == "flink" } ?? images.first
    }

    func valuesDocument(registry: String, options: PushOptions, entries: [PushSummary.PushedEntry], libsImage: PushedImage?) -> String {
        // The first entries are the bundle's; a libs image, when built, comes last.
        let entries = entries.filter { !$0.source.hasPrefix("libs image") }
        var lines = ["# Written by airgap push: where the bundle's images now live. Give it to helm after your",
                     "# own values: helm install … -f custom-values.yaml -f \(Self.valuesFile)"]
        let prefix = options.prefix.isEmpty ? registry : "\(registry)/\(options.prefix)"
        lines += ["global:", "  imageRegistry: \(quoted(prefix))"]
        if let image = chartImage(entries), let reference = try? Reference(parsing: image.source) {
            let path = options.path(for: reference.repository)
            lines += ["image:", "  repository: \(quoted(path))", "  tag: \(quoted(reference.tag ?? ""))", "  digest: \(quoted(image.digest))"]
        }
        if let libsImage {
            lines += ["libs:", "  mode: image", "  image:", "    repository: \(quoted(libsImage.path))", "    tag: \(quoted(libsImage.tag))",
                      "    digest: \(quoted(libsImage.digest.description))", "    path: \"/libs\""]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// `ImageDigestMirrorSet` and `ImageTagMirrorSet` for OpenShift, mapping each source repository
/// to its mirror in the internal registry, as oc-mirror writes them.
enum OpenShiftMirrors {
    static func write(entries: [PushSummary.PushedEntry], options: PushOptions, to directory: String) throws -> [String] {
        var mirrors: [String: String] = [:]
        for entry in entries where entry.kind == .image {
            guard let reference = try? Reference(parsing: entry.source) else { continue }
            mirrors[reference.name] = "\(options.registry)/\(options.targetRepository(for: reference.repository))"
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
