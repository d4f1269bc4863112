/// Chart names as Helm accepts them (`helm lint`'s rule): letters, digits, `.`, `_`, `-`, and
/// not `.` or `..` — never a path. The name becomes a directory in the archive and a tag.
public enum ChartName {
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 250, name != ".", name != ".." else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": return true
            default: return false
            }
        }
    }
}

/// Semantic Versioning 2.0.0, as Helm requires of a chart version: `MAJOR.MINOR.PATCH`, numbers
/// without leading zeros, optional `-pre.release` and `+build` of `[0-9A-Za-z-]` identifiers.
public enum SemanticVersion {
    public static func isValid(_ version: String) -> Bool {
        guard version.utf8.count <= 256 else { return false }
        var rest = Substring(version)
        var build: Substring?
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...]
            rest = rest[..<plus]
        }
        var prerelease: Substring?
        if let dash = rest.firstIndex(of: "-") {
            prerelease = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3, core.allSatisfy(isNumber) else { return false }
        if let prerelease {
            let parts = prerelease.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.allSatisfy(isIdentifier) else { return false }
            // Numeric pre-release identifiers carry no leading zeros either.
            guard parts.allSatisfy({ !$0.allSatisfy(\.isASCIIDigit) || isNumber($0) }) else { return false }
        }
        if let build {
            guard build.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isIdentifier) else { return false }
        }
        return true
    }

    private static func isNumber(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy(\.isASCIIDigit) && (text == "0" || text.first != "0")
    }

    private static func isIdentifier(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCIIDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || $0 == "-" }
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
