import Foundation
import Manifests
import OCILayout
import Yams

/// A chart archive in the blob store, with the metadata Helm's OCI config carries.
public struct PackagedChart: Sendable {
    public var name: String
    public var version: String
    /// The `<name>-<version>.tgz` bytes' digest and size.
    public var archive: Descriptor
    /// Chart.yaml as JSON: the config blob of Helm's OCI manifest.
    public var config: Data
}

public enum ChartError: Error, CustomStringConvertible {
    case noChartYAML(String)
    case badChartYAML(String, String)
    case symbolicLink(String)
    case unreadable(String, String)
    case versionNotFound(repository: String, name: String, version: String)
    case digestMismatch(url: String, published: String, actual: String)
    case noDigest(url: String)
    case notAChart(String, String)
    case lockMismatch(reference: String, locked: String, actual: String)
    case repositoryStatus(url: String, status: Int, detail: String)

    public var description: String {
        switch self {
        case .noChartYAML(let directory):
            return "\(directory): no Chart.yaml; a chart directory needs one (with apiVersion, name and version)"
        case .badChartYAML(let file, let problem):
            return "\(file): \(problem)"
        case .symbolicLink(let path):
            return "\(path): is a symbolic link; a chart must hold plain files only (copy the target in)"
        case .unreadable(let path, let detail):
            return "\(path): cannot be read (\(detail))"
        case .versionNotFound(let repository, let name, let version):
            return "\(repository)/index.yaml has no chart \(name) version \(version); check the name and version"
        case .digestMismatch(let url, let published, let actual):
            return "\(url): hashes to \(actual), but index.yaml says \(published); refusing it"
        case .noDigest(let url):
            return "\(url): index.yaml publishes no digest for it; pass --allow-unverified to take it unchecked"
        case .notAChart(let source, let detail):
            return "\(source): not a Helm chart (\(detail))"
        case .lockMismatch(let reference, let locked, let actual):
            return "\(reference) changed from \(locked) to \(actual) since the lock was written; run `airgap lock` to accept"
        case .repositoryStatus(let url, let status, let detail):
            return "\(url): the Helm repository answered HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))"); check the chart's repo URL"
        }
    }
}

/// Packages a chart directory the way `helm package` does: `<name>-<version>.tgz` with one
/// top-level `<name>/` folder, `Chart.yaml` first, `.helmignore` honoured; and deterministically:
/// files sorted, mtime 0, owner 0, modes 0644, gzip with no timestamp. The same directory
/// always gives the same digest.
public enum ChartPackager {
    public static func package(directory: String, into store: BlobStore) throws -> PackagedChart {
        let chartFile = "\(directory)/Chart.yaml"
        guard let chartData = FileManager.default.contents(atPath: chartFile) else { throw ChartError.noChartYAML(directory) }
        let (name, version, config) = try metadata(fromChartYAML: chartData, source: chartFile)
        if let values = FileManager.default.contents(atPath: "\(directory)/values.yaml") {
            try YAMLInput.check(String(decoding: values, as: UTF8.self), source: "\(directory)/values.yaml")
        }
        let ignore = HelmIgnore(text: (try? String(contentsOfFile: "\(directory)/.helmignore", encoding: .utf8)) ?? "")
        let files = try listFiles(in: directory, ignore: ignore).filter { $0 != "Chart.yaml" }

        let (digest, size) = try store.store { file in
            let tar = try TarWriter(file: file, hasher: SHA256Hasher(), gzip: true)
            for relative in ["Chart.yaml"] + files {
                let source = try FileDescriptor.openForReading("\(directory)/\(relative)")
                try tar.addFile("\(name)/\(relative)", size: try source.size()) { write in try source.forEachChunk(write) }
            }
            try tar.finish()
        }
        return PackagedChart(name: name, version: version,
                             archive: Descriptor(mediaType: MediaType.helmChartContent, digest: digest, size: size), config: config)
    }

    /// Name, version and the JSON form of a Chart.yaml.
    static func metadata(fromChartYAML data: Data, source: String) throws -> (String, String, Data) {
        let parsed: Any?
        do { parsed = try YAMLInput.load(String(decoding: data, as: UTF8.self), source: source) } catch let error as YAMLInputError {
            throw error
        } catch {
            throw ChartError.badChartYAML(source, "not valid YAML (\(error))")
        }
        guard let chart = parsed as? [String: Any] else { throw ChartError.badChartYAML(source, "expected a mapping") }
        guard let name = chart["name"] as? String, !name.isEmpty else { throw ChartError.badChartYAML(source, "name is missing") }
        guard let version = (chart["version"] as? String) ?? (chart["version"].map { "\($0)" }), !version.isEmpty else {
            throw ChartError.badChartYAML(source, "version is missing")
        }
        // As Helm validates them: a name that is one path component of safe characters, and a
        // SemVer 2 version. Both become file and tag names downstream.
        guard ChartName.isValid(name) else {
            throw ChartError.badChartYAML(source, "name \"\(name)\" is not a chart name (letters, digits, '.', '_', '-'; not a path)")
        }
        guard SemanticVersion.isValid(version) else {
            throw ChartError.badChartYAML(source, "version \"\(version)\" is not a SemVer 2 version (like 1.2.3 or 1.2.3-rc.1+build.5)")
        }
        guard let apiVersion = chart["apiVersion"] as? String, ["v1", "v2"].contains(apiVersion) else {
            throw ChartError.badChartYAML(source, "apiVersion must be v1 or v2")
        }
        guard JSONSerialization.isValidJSONObject(chart),
              let json = try? JSONSerialization.data(withJSONObject: chart, options: [.sortedKeys, .withoutEscapingSlashes])
        else { throw ChartError.badChartYAML(source, "holds values JSON cannot express") }
        return (name, version, json)
    }

    /// Regular files under `directory`, relative and sorted, without what `.helmignore` leaves out.
    private static func listFiles(in directory: String, ignore: HelmIgnore) throws -> [String] {
        var result: [String] = []
        func walk(_ relative: String) throws {
            let absolute = relative.isEmpty ? directory : "\(directory)/\(relative)"
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: absolute) } catch {
                throw ChartError.unreadable(absolute, error.localizedDescription)
            }
            for name in names.sorted() {
                let path = relative.isEmpty ? name : "\(relative)/\(name)"
                var info = stat()
                guard lstat("\(directory)/\(path)", &info) == 0 else { throw ChartError.unreadable("\(directory)/\(path)", "lstat failed") }
                let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                if ignore.ignores(path, isDirectory: isDirectory) { continue }
                // A temporary file of a write in progress (or of a killed one) is never content.
                if WorkInProgress.isPartialName(name) { continue }
                if (info.st_mode & S_IFMT) == S_IFLNK { throw ChartError.symbolicLink("\(directory)/\(path)") }
                if isDirectory { try walk(path) } else if (info.st_mode & S_IFMT) == S_IFREG { result.append(path) }
            }
        }
        try walk("")
        return result.sorted()
    }
}
