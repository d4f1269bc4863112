/// One thing `airgap audit` found: a stable id a pipeline can match on, a severity, the artifact
/// it is about, what is wrong in one line, and the fix.
public struct Finding: Codable, Comparable, Sendable, Hashable {
    public enum Severity: String, Codable, Comparable, Sendable, CaseIterable {
        case info, warning, error

        private var rank: Int { self == .info ? 0 : self == .warning ? 1 : 2 }
        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    public var id: String
    public var severity: Severity
    public var artifact: String
    public var message: String
    public var fix: String

    public init(_ id: String, _ severity: Severity, _ artifact: String, _ message: String, fix: String) {
        self.id = id
        self.severity = severity
        self.artifact = artifact
        self.message = message
        self.fix = fix
    }

    /// Sorted by id, then artifact, then message: the order of the report and of `--json`.
    public static func < (lhs: Finding, rhs: Finding) -> Bool {
        (lhs.id, lhs.artifact, lhs.message) < (rhs.id, rhs.artifact, rhs.message)
    }
}
