import Foundation
import Manifests
import OCILayout
import Yams
#if canImport(Glibc)
import Glibc
#endif

public enum UnpackError: Error, CustomStringConvertible {
    /// An archive entry that would land outside the chart's folder, or is not a plain file/folder.
    case unsafeEntry(archive: String, entry: String, problem: String)
    /// The destination exists and is not what airgap would replace.
    case destinationTaken(path: String, problem: String)

    public var description: String {
        switch self {
        case .unsafeEntry(let archive, let entry, let problem):
            return "\(archive): entry \"\(entry)\" \(problem); `helm package` never writes that, so nothing was unpacked"
        case .destinationTaken(let path, let problem):
            return "\(path) \(problem); remove it or choose another directory"
        }
    }
}

/// A chart archive from a bundle (`<name>-<version>.tgz`, one `<name>/` folder, as `helm package`
/// writes it) unpacked into `PARENT/<name>/`, the way `helm pull --untar` leaves it. The archive
/// is hashed against its digest before one byte is unpacked. Every entry must be a plain file or
/// folder under `<name>/`: absolute names, `..`, links and devices are refused, so nothing lands
/// outside the folder. It is built in a staging folder beside the destination, synced and renamed
/// into place: the folder appears whole or not at all.
public struct ChartUnpacker {
    /// The archive as a window of the bundle.
    public var source: BlobSource
    public var chartName: String
    /// How the archive is named in messages: the bundle's reference.
    public var label: String

    public init(source: BlobSource, chartName: String, label: String) {
        self.source = source
        self.chartName = chartName
        self.label = label
    }

    /// Unpacks into `parent/<name>/`. `finishing` runs on the staged folder before it is put in
    /// place (push writes files/libs and values-airgap.yaml there). A destination that exists is
    /// replaced only when it is this chart (its Chart.yaml names it): what an earlier run wrote.
    @discardableResult
    public func unpack(into parent: String, finishing: (String) throws -> Void = { _ in }) throws -> String {
        let destination = "\(parent)/\(chartName)"
        try Self.checkReplaceable(destination, chartName: chartName)
        try checkDigest()
        let staged = try AtomicDirectory.stage(in: parent, label: chartName)
        do {
            try extract(into: staged)
            guard FileManager.default.fileExists(atPath: "\(staged)/Chart.yaml") else {
                throw UnpackError.unsafeEntry(archive: label, entry: "\(chartName)/Chart.yaml", problem: "is missing")
            }
            try finishing(staged)
            try AtomicDirectory.install(staged, at: destination)
        } catch {
            AtomicDirectory.discard(staged)
            throw error
        }
        return destination
    }

    /// A destination that is absent, or a chart folder of the same name.
    static func checkReplaceable(_ destination: String, chartName: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw UnpackError.destinationTaken(path: destination, problem: "exists and is not a folder") }
        struct ChartHeader: Decodable { var name: String? }
        // Checked first like every YAML input: Yams would overflow the stack on deep nesting.
        let header = FileManager.default.contents(atPath: "\(destination)/Chart.yaml")
            .map { String(decoding: $0, as: UTF8.self) }
            .flatMap { text in (try? YAMLInput.check(text, source: "Chart.yaml")).flatMap { try? YAMLDecoder().decode(ChartHeader.self, from: text) } }
        guard header?.name == chartName else {
            throw UnpackError.destinationTaken(path: destination, problem: "exists and is not the \(chartName) chart (its Chart.yaml does not name it), so it is not replaced")
        }
    }

    private func checkDigest() throws {
        let hasher = SHA256Hasher()
        try source.forEachChunk { hasher.update($0) }
        let actual = hasher.finalize()
        guard actual == source.descriptor.digest else {
            throw LayoutError.digestMismatch(path: label, expected: source.descriptor.digest.description, actual: actual.description)
        }
    }

    private func extract(into staged: String) throws {
        try ArchiveProbe.forEachEntry(inRegionAt: source.offset, length: source.descriptor.size, of: source.file) { entry, readData in
            let components = try relativeComponents(of: entry)
            guard !components.isEmpty else { return } // the `<name>/` folder itself
            let path = staged + "/" + components.joined(separator: "/")
            switch entry.kind {
            case .directory:
                try makeDirectories(staged, components)
            case .file:
                try makeDirectories(staged, components.dropLast())
                let mode: mode_t = entry.permissions & 0o111 != 0 ? 0o755 : 0o644
                let file: FileDescriptor
                do { file = try FileDescriptor(path: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode) } catch {
                    throw UnpackError.unsafeEntry(archive: label, entry: entry.name, problem: errno == EEXIST ? "appears twice" : "cannot be written (\(error))")
                }
                try readData { try file.write($0) }
                try file.sync()
            case .other(let what):
                throw UnpackError.unsafeEntry(archive: label, entry: entry.name, problem: "is a \(what), not a file or folder")
            }
        }
    }

    /// The entry's path below `<name>/`, refused when it is absolute, climbs with `..`, or lies
    /// outside the chart's folder.
    func relativeComponents(of entry: ArchiveEntry) throws -> [String] {
        var name = entry.name
        while name.hasPrefix("./") { name.removeFirst(2) }
        func refuse(_ problem: String) -> UnpackError { .unsafeEntry(archive: label, entry: entry.name, problem: problem) }
        guard !name.hasPrefix("/") else { throw refuse("is an absolute path") }
        var components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.last == "" { components.removeLast() }
        guard !components.contains(".."), !components.contains("."), !components.contains("") else {
            throw refuse("has an empty, . or .. path component")
        }
        guard components.first == chartName else { throw refuse("lies outside the chart's folder \(chartName)/") }
        return Array(components.dropFirst())
    }

    private func makeDirectories<C: Collection>(_ root: String, _ components: C) throws where C.Element == String {
        var path = root
        for component in components {
            path += "/" + component
            if mkdir(path, 0o755) != 0, errno != EEXIST {
                throw LayoutError.io(path: path, operation: "mkdir", errno: errno)
            }
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw UnpackError.unsafeEntry(archive: label, entry: path, problem: "is both a file and a folder")
            }
        }
    }
}
