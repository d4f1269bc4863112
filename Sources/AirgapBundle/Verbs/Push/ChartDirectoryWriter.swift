import Foundation
import Manifests
import OCILayout

/// Step 4 of push, `--chart-dir`: the bundle's JARs into `files/libs/` (each written to a
/// temporary name, checked against its digest, synced and renamed, so no partial JAR is ever
/// visible), stray JARs reported or pruned, and `values-airgap.yaml` pointing the chart at the
/// internal registry.
///
/// The JARs are the bundle's JAR artifacts (layer digest, size and title), read only after the
/// bundle and its lock agreed field by field: never the lock's say-so alone, so a lock whose
/// SHA-256 names another blob of the bundle (the chart archive, say) cannot smuggle it in.
struct ChartDirectoryWriter {
    struct Jar {
        var fileName: String
        var descriptor: Descriptor
        var digest: Digest { descriptor.digest }
    }

    private(set) var directory: String
    let jars: [Jar]
    let strays: [String]
    let bundle: BundleReader

    var libsDirectory: String { "\(directory)/files/libs" }
    static let valuesFile = "values-airgap.yaml"

    /// With `unpacking`, the chart is yet to be unpacked there from the bundle (`--chart-out`):
    /// no Chart.yaml to find, and no stray JARs, since the folder is replaced whole.
    init(directory: String, bundle: BundleReader, unpacking: Bool = false) throws {
        guard unpacking || FileManager.default.fileExists(atPath: "\(directory)/Chart.yaml") else {
            throw PushError.chartDirectory(directory, "no Chart.yaml; --chart-dir names the chart whose files/libs/ gets the JARs")
        }
        self.directory = directory
        self.bundle = bundle
        var jars: [Jar] = []
        for item in bundle.items where item.kind == .jar {
            guard let layer = bundle.jarLayer(of: item) else { throw PushError.unsafeJarName(reference: item.reference, name: "") }
            let name = layer.annotations?[AnnotationKey.title] ?? ""
            guard name.hasSuffix(".jar"), !name.hasPrefix("."), !name.contains("/"), !name.contains("\0") else {
                throw PushError.unsafeJarName(reference: item.reference, name: name)
            }
            jars.append(Jar(fileName: name, descriptor: layer))
        }
        self.jars = jars
        let present = unpacking ? [] : ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/files/libs")) ?? []).filter { $0.hasSuffix(".jar") }
        let locked = Set(jars.map(\.fileName))
        self.strays = present.filter { !locked.contains($0) }.sorted()
    }

    /// The same work aimed at another folder: the staged copy of a chart being unpacked.
    func writing(into directory: String) -> ChartDirectoryWriter {
        var copy = self
        copy.directory = directory
        return copy
    }

    func plan(prune: Bool) -> [PushPlanReport.File] {
        jars.map { PushPlanReport.File(action: .write, path: "\(libsDirectory)/\($0.fileName)", bytes: $0.descriptor.size, digest: $0.digest.description) }
            + strays.map { PushPlanReport.File(action: prune ? .remove : .keep, path: "\(libsDirectory)/\($0)") }
            + [PushPlanReport.File(action: .write, path: "\(directory)/\(Self.valuesFile)")]
    }

    struct Result {
        var written: [String] = []
        var strays: [String] = []
        var pruned: [String] = []
        var files: [String] = []
    }

    func write(prune: Bool, naming: RepositoryNaming, entries: [EntryReport], libsImage: PushedImage?) throws -> Result {
        var result = Result(strays: strays)
        try FileManager.default.createDirectory(atPath: libsDirectory, withIntermediateDirectories: true)
        for jar in jars {
            try bundle.source(for: jar.descriptor).writeChecked(to: "\(libsDirectory)/\(jar.fileName)")
            result.written.append(jar.fileName)
        }
        if prune {
            for stray in strays {
                try FileManager.default.removeItem(atPath: "\(libsDirectory)/\(stray)")
                result.pruned.append(stray)
            }
        }
        let values = "\(directory)/\(Self.valuesFile)"
        try AtomicFile.write(Data(valuesDocument(naming: naming, entries: entries, libsImage: libsImage).utf8), to: values)
        result.files.append(values)
        return result
    }

    /// The image the chart runs: the one named `…/flink`, else the first image.
    func chartImage(_ entries: [EntryReport]) -> EntryReport? {
        let images = entries.filter { $0.kind == .image }
        return images.first { (try? Reference(parsing: $0.reference))?.repository.split(separator: "/").last == "flink" } ?? images.first
    }

    func valuesDocument(naming: RepositoryNaming, entries: [EntryReport], libsImage: PushedImage?) -> String {
        // The first entries are the bundle's; a libs image, when built, comes last.
        let entries = entries.filter { !$0.reference.hasPrefix("libs image") }
        var lines = ["# Written by airgap push: where the bundle's images now live. Give it to helm after your",
                     "# own values: helm install … -f custom-values.yaml -f \(Self.valuesFile)"]
        lines += ["global:", "  imageRegistry: \(quoted(naming.imageRegistry))"]
        if let image = chartImage(entries), let reference = try? Reference(parsing: image.reference) {
            let path = naming.path(for: reference.repository)
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

