import Foundation

/// Where to reach a registry that users name `docker.io`, `quay.io` or `127.0.0.1:5000`.
public struct RegistryEndpoint: Sendable, Hashable {
    /// The registry as references name it.
    public var name: String
    /// The URL requests go to: the registry itself, or the mirror configured for it.
    public var baseURL: URL

    /// The key auth files and certs.d use for what is actually contacted.
    public var credentialKey: String {
        baseURL.hostAndPort == "registry-1.docker.io" ? "docker.io" : baseURL.hostAndPort
    }

    public func url(_ path: String, query: [URLQueryItem] = []) -> URL {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)!
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
        if !query.isEmpty { components.queryItems = query }
        return components.url!
    }
}

/// How registry names map to endpoints: mirrors for the connected host, and which hosts may be
/// spoken to in plain HTTP. Everything else is HTTPS with verified certificates.
public struct RegistryHosts: Sendable {
    /// Registry name → mirror base URL (`docker.io` → `http://127.0.0.1:5000`). An `http://`
    /// mirror is allowed plain HTTP because the operator wrote it so.
    public var mirrors: [String: URL]
    /// `host[:port]` names allowed plain HTTP (`--insecure-registry`).
    public var insecure: Set<String>

    public init(mirrors: [String: URL] = [:], insecure: Set<String> = []) {
        self.mirrors = mirrors
        self.insecure = insecure
    }

    /// Parses `REGISTRY=URL` as given to `--mirror`.
    public static func parseMirror(_ text: String) throws -> (String, URL) {
        guard let equals = text.firstIndex(of: "="),
              let url = URL(string: String(text[text.index(after: equals)...])),
              url.scheme == "http" || url.scheme == "https", url.host != nil
        else { throw SpecError.invalidMirror(text) }
        return (String(text[..<equals]), url)
    }

    public func endpoint(for registry: String) -> RegistryEndpoint {
        if let mirror = mirrors[registry] { return RegistryEndpoint(name: registry, baseURL: mirror) }
        let host = registry == "docker.io" ? "registry-1.docker.io" : registry
        let scheme = insecure.contains(registry) ? "http" : "https"
        return RegistryEndpoint(name: registry, baseURL: URL(string: "\(scheme)://\(host)")!)
    }
}
