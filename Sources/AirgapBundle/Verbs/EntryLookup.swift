import Foundation
import Manifests

/// Finds one `index.json` entry from what a user types: the ref name as `inspect` lists it, an
/// image reference as docker writes it (`flink:1.17.1` is `docker.io/library/flink:1.17.1`),
/// Maven coordinates (`groupId:artifactId:version`), a chart's name (`flink-cdc`, when the
/// bundle holds one version of it), or a JAR's file name.
public enum EntryLookup {
    public struct NotFound: Error, CustomStringConvertible {
        public var bundle: String
        public var query: String
        public var available: [String]
        public var ambiguous = false

        public var description: String {
            "\(bundle): \(ambiguous ? "more than one entry matches" : "holds no") \(query); \(ambiguous ? "name one of" : "it holds"): "
                + available.joined(separator: ", ") + " (airgap inspect \(bundle) lists them)"
        }
    }

    public static func find(_ query: String, in entries: [BundleItem], lock: Lockfile?, bundle: String) throws -> BundleItem {
        let all = entries.map(\.reference).sorted()
        if let exact = entries.first(where: { $0.reference == query }) { return exact }
        var candidates: [BundleItem] = []
        if let reference = try? Reference(parsing: query) {
            candidates += entries.filter { $0.kind == .image && $0.reference == reference.description }
        }
        if let coordinate = try? MavenCoordinate(parsing: query) {
            candidates += entries.filter { $0.reference == coordinate.bundleReference }
        }
        let chartName = query.hasPrefix("charts/") ? String(query.dropFirst("charts/".count)) : query
        candidates += entries.filter { $0.kind == .chart && $0.reference.hasPrefix("charts/\(chartName):") }
        if query.hasSuffix(".jar"), let jar = lock?.jars.first(where: { $0.coordinates.fileName == query }) {
            candidates += entries.filter { $0.reference == jar.reference }
        }
        var seen = Set<String>()
        candidates = candidates.filter { seen.insert($0.reference).inserted }
        guard candidates.count == 1 else {
            throw NotFound(bundle: bundle, query: query, available: candidates.isEmpty ? all : candidates.map(\.reference).sorted(),
                           ambiguous: candidates.count > 1)
        }
        return candidates[0]
    }
}
