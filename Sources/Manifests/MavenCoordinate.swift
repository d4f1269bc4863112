/// A Maven artifact as `groupId:artifactId:version[:classifier]` (packaging is always `jar`).
public struct MavenCoordinate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let groupId: String
    public let artifactId: String
    public let version: String
    public let classifier: String?

    public init(groupId: String, artifactId: String, version: String, classifier: String? = nil) {
        self.groupId = groupId
        self.artifactId = artifactId
        self.version = version
        self.classifier = classifier
    }

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (3...4).contains(parts.count) else {
            throw ManifestError.invalidReference(text, reason: "expected groupId:artifactId:version[:classifier]")
        }
        for part in parts where part.isEmpty || !part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) || part.hasPrefix(".") {
            throw ManifestError.invalidReference(text, reason: "\"\(part)\" may hold only letters, digits, . _ and -")
        }
        self.init(groupId: parts[0], artifactId: parts[1], version: parts[2], classifier: parts.count == 4 ? parts[3] : nil)
    }

    public var description: String {
        [groupId, artifactId, version, classifier].compactMap { $0 }.joined(separator: ":")
    }

    /// `flink-json-1.17.1.jar`, `x-1.0-tests.jar`.
    public var fileName: String {
        "\(artifactId)-\(version)\(classifier.map { "-\($0)" } ?? "").jar"
    }

    /// The path in a Maven 2 repository layout: `org/apache/flink/flink-json/1.17.1/flink-json-1.17.1.jar`.
    public var repositoryPath: String {
        groupId.replacingOccurrences(of: ".", with: "/") + "/\(artifactId)/\(version)/\(fileName)"
    }

    /// The name the JAR's artifact carries in a bundle: `maven/org.apache.flink/flink-json:1.17.1`.
    public var bundleReference: String {
        "maven/\(groupId)/\(artifactId):\(version)\(classifier.map { "-\($0)" } ?? "")"
    }

    public static func < (lhs: MavenCoordinate, rhs: MavenCoordinate) -> Bool { lhs.description < rhs.description }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
