import Foundation

/// `.helmignore` as Helm reads it: one glob a line, `#` comments, a trailing `/` for directories
/// only, a leading `!` to take a file back, patterns with a `/` matched against the path from
/// the chart root and others against each path component's name. The last matching rule wins.
/// Helm's own default rule, `templates/.?*`, always applies.
struct HelmIgnore {
    struct Rule {
        var pattern: String
        var negated: Bool
        var directoryOnly: Bool
    }

    var rules: [Rule]

    init(text: String) {
        var rules = [Rule(pattern: "templates/.?*", negated: false, directoryOnly: false)]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let negated = line.hasPrefix("!")
            if negated { line.removeFirst() }
            let directoryOnly = line.hasSuffix("/")
            if directoryOnly { line.removeLast() }
            if line.hasPrefix("/") { line.removeFirst() }
            guard !line.isEmpty else { continue }
            rules.append(Rule(pattern: line, negated: negated, directoryOnly: directoryOnly))
        }
        self.rules = rules
    }

    /// Whether `relativePath` (from the chart root, `/`-separated) is left out of the package.
    func ignores(_ relativePath: String, isDirectory: Bool) -> Bool {
        var ignored = false
        for rule in rules where !(rule.directoryOnly && !isDirectory) {
            if matches(rule.pattern, relativePath) { ignored = !rule.negated }
        }
        return ignored
    }

    private func matches(_ pattern: String, _ path: String) -> Bool {
        if pattern.contains("/") { return fnmatch(pattern, path, FNM_PATHNAME) == 0 }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return fnmatch(pattern, name, 0) == 0
    }
}
