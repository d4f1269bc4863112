import Foundation
import Manifests

public enum NamingError: Error, CustomStringConvertible {
    case invalidPrefix(String, problem: String)
    case invalidPullRegistry(String, problem: String)
    case tooManyPathComponents(limit: Int, offending: [String], fix: String)

    public var description: String {
        switch self {
        case .invalidPrefix(let prefix, let problem):
            return "--prefix \(prefix): \(problem); a prefix is one or more lowercase path components (letters, digits, and . _ - between them) separated by /, e.g. apps or team/flink"
        case .invalidPullRegistry(let value, let problem):
            return "--pull-registry \(value): \(problem); expected HOST[:PORT][/PATH], e.g. image-registry.openshift-image-registry.svc:5000/flink"
        case .tooManyPathComponents(let limit, let offending, let fix):
            return "--max-path-components \(limit): \(offending.count) repositor\(offending.count == 1 ? "y has" : "ies have") more path components: "
                + offending.joined(separator: ", ") + "; nothing was pushed; fix: \(fix)"
        }
    }
}

/// The checks push makes on names before it writes anything: the prefix and the pull registry
/// are well-formed repository paths, and, with `--max-path-components` (OpenShift's internal
/// registry allows 2: `<project>/<name>`; oc-mirror calls it `--max-nested-paths`), no
/// repository the plan names (or pods pull) is deeper than that.
extension RepositoryNaming {
    /// One path component of a repository name, as the distribution spec defines it.
    static func isPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isAlphanumeric(byte) { index += 1; continue }
            // Separators: one `.`, one or two `_`, or any run of `-`; each between alphanumerics.
            var end = index
            while end < bytes.count, !isAlphanumeric(bytes[end]) { end += 1 }
            let separator = bytes[index..<end]
            let allowed = separator.elementsEqual([0x2E]) || separator.elementsEqual([0x5F]) || separator.elementsEqual([0x5F, 0x5F])
                || separator.allSatisfy { $0 == 0x2D }
            guard allowed else { return false }
            index = end
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }

    static func pathProblem(_ path: String) -> String? {
        for component in path.split(separator: "/", omittingEmptySubsequences: false) where !isPathComponent(component) {
            return component.isEmpty ? "has an empty path component" : "\"\(component)\" is not a valid path component"
        }
        return path.count > 200 ? "is longer than 200 characters" : nil
    }

    /// The prefix and the pull registry, checked as repository paths (no network, no bundle).
    public func checkSyntax() throws {
        if !prefix.isEmpty, let problem = Self.pathProblem(prefix) { throw NamingError.invalidPrefix(prefix, problem: problem) }
        guard let pullRegistry else { return }
        let parts = pullRegistry.split(separator: "/", maxSplits: 1).map(String.init)
        let host = parts.first ?? ""
        let hostPattern = #"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"#
        guard host.range(of: hostPattern, options: .regularExpression) != nil else {
            throw NamingError.invalidPullRegistry(pullRegistry, problem: "\"\(host)\" is not a host name with an optional port")
        }
        if parts.count == 2, let problem = Self.pathProblem(parts[1]) {
            throw NamingError.invalidPullRegistry(pullRegistry, problem: "its path \(problem)")
        }
    }

    /// Refuses, naming every offender and the fix, a plan in which a repository pushed to (or
    /// pulled from) has more than `limit` path components.
    public func check(maxPathComponents limit: Int, sourceRepositories: [String]) throws {
        let pullPath = pullRegistry.flatMap { $0.contains("/") ? String($0.split(separator: "/", maxSplits: 1)[1]) : nil }
        var offending: [String] = []
        for source in Set(sourceRepositories).sorted() {
            for name in Set([repository(for: source)] + (pullPath.map { ["\($0)/\(path(for: source))"] } ?? [])).sorted() {
                let depth = name.split(separator: "/").count
                if depth > limit { offending.append("\(name) (\(depth))") }
            }
        }
        guard !offending.isEmpty else { return }
        let prefixDepth = prefix.isEmpty ? 0 : prefix.split(separator: "/").count
        let pullDepth = pullPath.map { $0.split(separator: "/").count } ?? prefixDepth
        let fix: String
        if max(prefixDepth, pullDepth) + 1 <= limit {
            fix = "add --flatten (one component under the prefix: \(prefix.isEmpty ? "" : prefix + "/")library-flink)"
        } else if limit <= 1 {
            fix = "no --prefix, with --flatten"
        } else {
            fix = "a --prefix (and --pull-registry path) of at most \(limit - 1) component\(limit == 2 ? "" : "s"), with --flatten; for OpenShift's registry: --prefix PROJECT --flatten"
        }
        throw NamingError.tooManyPathComponents(limit: limit, offending: offending, fix: fix)
    }
}
