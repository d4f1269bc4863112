/// An image reference, `[registry/]repository[:tag][@digest]`, normalised the way Docker does:
/// `flink` is `docker.io/library/flink:latest`, `bitnami/kafka` is `docker.io/bitnami/kafka`.
public struct Reference: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let dockerHub = "docker.io"

    /// The registry as users name it (`docker.io`, `quay.io`, `127.0.0.1:5000`), not the host a
    /// client connects to: that mapping belongs to the transport.
    public let registry: String
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    public init(registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws {
        func fail(_ reason: String) -> ManifestError { .invalidReference(text, reason: reason) }
        guard !text.isEmpty, text.count <= 4096 else { throw fail("empty or too long") }
        var remainder = Substring(text)

        var digest: Digest?
        if let at = remainder.firstIndex(of: "@") {
            digest = try Digest(parsing: String(remainder[remainder.index(after: at)...]))
            remainder = remainder[..<at]
        }
        var tag: String?
        if let colon = remainder.lastIndex(of: ":"), !remainder[colon...].contains("/") {
            tag = String(remainder[remainder.index(after: colon)...])
            remainder = remainder[..<colon]
        }
        var components = remainder.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = Self.dockerHub
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            registry = first == "index.docker.io" ? Self.dockerHub : first
            components.removeFirst()
        }
        if registry == Self.dockerHub, components.count == 1 { components.insert("library", at: 0) }

        guard Self.isValidRegistry(registry) else { throw fail("registry \"\(registry)\" is not a host[:port]") }
        for component in components where !Self.isValidPathComponent(component) {
            throw fail("\"\(component)\" is not a valid repository name component (lowercase letters, digits, and . _ - between them)")
        }
        if let tag, !Self.isValidTag(tag) {
            throw fail("tag \"\(tag)\" must be 1–128 of [A-Za-z0-9_.-] and not start with . or -")
        }
        self.init(registry: registry, repository: components.joined(separator: "/"),
                  tag: tag ?? (digest == nil ? "latest" : nil), digest: digest)
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// What a registry's manifest endpoint is asked for: the digest when pinned, else the tag.
    public var identifier: String { digest?.description ?? tag ?? "latest" }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    public func pinned(to digest: Digest) -> Reference {
        Reference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    public static func < (lhs: Reference, rhs: Reference) -> Bool { lhs.description < rhs.description }

    private static func isValidRegistry(_ host: String) -> Bool {
        !host.isEmpty && host.allSatisfy { $0.isLetter || $0.isNumber || ".-:[]".contains($0) } && host.isASCII
    }

    private static func isValidPathComponent(_ component: String) -> Bool {
        // distribution's grammar: [a-z0-9]+ joined by ".", "_", "__" or one or more "-".
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnumLower(first), isAlnumLower(last) else { return false }
        var index = 0
        while index < bytes.count {
            if isAlnumLower(bytes[index]) { index += 1; continue }
            var separator = [UInt8]()
            while index < bytes.count, !isAlnumLower(bytes[index]) { separator.append(bytes[index]); index += 1 }
            let text = String(decoding: separator, as: UTF8.self)
            guard text == "." || text == "_" || text == "__" || text.allSatisfy({ $0 == "-" }) else { return false }
        }
        return true
    }

    private static func isAlnumLower(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x61...0x7a).contains(byte) }

    private static func isValidTag(_ tag: String) -> Bool {
        guard (1...128).contains(tag.utf8.count), let first = tag.first, first != ".", first != "-" else { return false }
        return tag.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "_.-".contains($0) }
    }
}

extension String {
    fileprivate var isASCII: Bool { utf8.allSatisfy { $0 < 0x80 } }
}
