/// The platform an image manifest runs on, as written in an index entry.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/architecture[/variant]`, the form `docker --platform` and skopeo accept.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
            throw ManifestError.invalidPlatform(text)
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// Whether an index entry's platform satisfies this requested one. A request without a variant
    /// takes any variant; `arm64` and `arm64/v8` are the same platform, as containerd treats them.
    public func accepts(_ offered: Platform) -> Bool {
        guard os == offered.os, architecture == offered.architecture else { return false }
        guard let wanted = variant else { return true }
        return Self.normalizedVariant(architecture, wanted) == Self.normalizedVariant(offered.architecture, offered.variant)
    }

    private static func normalizedVariant(_ architecture: String, _ variant: String?) -> String? {
        if architecture == "arm64", variant == nil { return "v8" }
        return variant
    }
}
