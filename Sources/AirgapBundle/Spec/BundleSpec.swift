import Foundation
import Manifests
import Yams

/// Which platforms of a multi-platform image to carry.
public enum PlatformSelection: Hashable, Sendable, CustomStringConvertible {
    /// The whole index as published, attestations included.
    case all
    case some([Platform])

    public var description: String {
        switch self {
        case .all: return "all"
        case .some(let platforms): return platforms.map(\.description).joined(separator: ",")
        }
    }
}

public struct ImageSpec: Hashable, Sendable {
    /// The reference as the spec writes it, normalised (`flink` → `docker.io/library/flink:latest`).
    public var reference: Reference
    public var platforms: PlatformSelection
    /// False when the spec named no platforms and the default (linux/amd64) applies: a
    /// single-platform image is then taken as it is, as skopeo and docker take it.
    public var platformsExplicit: Bool
    /// `verify.key`: a PEM public key the image must carry a cosign signature from, resolved
    /// against the spec's folder.
    public var verifyKey: String?
    /// `verify.certificateRoot` + `identity` + `issuer`: a keyless (certificate) signature is
    /// required instead, chaining to that PEM root and naming that signer and OIDC issuer.
    public var keyless: KeylessPolicy?

    public init(reference: Reference, platforms: PlatformSelection, platformsExplicit: Bool = true, verifyKey: String? = nil,
                keyless: KeylessPolicy? = nil) {
        self.reference = reference
        self.platforms = platforms
        self.platformsExplicit = platformsExplicit
        self.verifyKey = verifyKey
        self.keyless = keyless
    }
}

/// Where a chart comes from.
public enum ChartSource: Hashable, Sendable, CustomStringConvertible {
    /// A chart directory, packaged the way `helm package` does. `path` as the spec writes it,
    /// `directory` resolved against the spec's folder.
    case directory(path: String, directory: String)
    /// A Helm repository's `index.yaml` entry.
    case repository(url: URL, name: String, version: String)
    /// A chart pushed to an OCI registry (`oci://host/ns/name`).
    case oci(reference: Reference, url: String)

    /// The name and version the spec itself gives (a directory's are known only from its Chart.yaml).
    public var declaredNameAndVersion: (String, String) {
        switch self {
        case .directory(let path, _): return (URL(fileURLWithPath: path).lastPathComponent, "unknown")
        case .repository(_, let name, let version): return (name, version)
        case .oci(let reference, _): return (String(reference.repository.split(separator: "/").last ?? ""), reference.tag ?? "unknown")
        }
    }

    /// How the lock records the source.
    public var description: String {
        switch self {
        case .directory(let path, _): return "path:\(path)"
        case .repository(let url, let name, let version): return "repo:\(url.withoutUserInfo.absoluteString)#\(name)@\(version)"
        case .oci(_, let url): return "oci:\(url)"
        }
    }
}

/// The connector JARs, by Maven coordinates, and the repository they come from.
public struct JarSpec: Sendable, Hashable {
    public static let mavenCentral = URL(string: "https://repo.maven.apache.org/maven2")!

    public var repository: URL
    public var artifacts: [MavenCoordinate]

    public init(repository: URL = JarSpec.mavenCentral, artifacts: [MavenCoordinate]) {
        self.repository = repository
        self.artifacts = artifacts
    }
}

/// `airgap.yaml`: what the operator wants carried across the gap.
///
/// ```yaml
/// images:
///   - ref: docker.io/library/flink:1.17.1
///     platforms: [linux/amd64, linux/arm64]   # default linux/amd64; "all" keeps the whole index
/// mirrors:
///   docker.io: http://127.0.0.1:5000
/// ```
public struct BundleSpec: Sendable {
    public static let defaultPlatform = Platform(os: "linux", architecture: "amd64")

    public var images: [ImageSpec]
    public var mirrors: [String: URL]
    public var jars: JarSpec?
    public var charts: [ChartSource]

    /// Every registry the spec pulls from (images and OCI charts), as references name them.
    public var registries: Set<String> {
        var names = Set(images.map(\.reference.registry))
        for case .oci(let reference, _) in charts { names.insert(reference.registry) }
        return names
    }

    public init(images: [ImageSpec], mirrors: [String: URL] = [:], jars: JarSpec? = nil, charts: [ChartSource] = []) {
        self.images = images
        self.mirrors = mirrors
        self.jars = jars
        self.charts = charts
    }

    /// SHA-256 of what the spec asks for (images and platforms, JAR coordinates, chart sources),
    /// in a canonical form: comments, key order and mirrors do not change it.
    public var canonicalDigest: Digest {
        struct Canonical: Encodable {
            var images: [[String]]
            var jars: [String]
            var charts: [String]
        }
        let canonical = Canonical(
            images: images.map { [$0.reference.description, $0.platforms.description] },
            jars: (jars?.artifacts ?? []).map(\.description),
            charts: charts.map(\.description))
        return Digest.sha256(of: (try? JSONEncoder.canonical().encode(canonical)) ?? Data())
    }

    public static func load(path: String) throws -> BundleSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpecError.unreadable(path: path, detail: "cannot read the bundle spec; pass --spec FILE")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses the YAML by hand rather than through Codable so that every mistake (a misspelt
    /// key, a bad reference) is reported with its key path, and unknown keys are refused
    /// instead of silently ignored.
    public static func parse(_ yaml: String, path: String) throws -> BundleSpec {
        let root = try YAMLInput.load(yaml, source: path)
        guard let top = root as? [String: Any] else {
            throw SpecError.unreadable(path: path, detail: "expected a mapping with \"images:\" at the top")
        }
        func fail(_ key: String, _ problem: String) -> SpecError { .invalid(path: path, key: key, problem: problem) }
        for key in top.keys where !["images", "mirrors", "jars", "charts"].contains(key) {
            throw fail(key, "unknown key; known keys are images, jars, charts, mirrors")
        }

        guard let imageList = top["images"] as? [Any], !imageList.isEmpty else {
            throw fail("images", "must be a non-empty list of {ref, platforms}")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var images: [ImageSpec] = []
        var seen = Set<Reference>()
        for (position, item) in imageList.enumerated() {
            let key = "images[\(position)]"
            let entry: [String: Any]
            if let text = item as? String { entry = ["ref": text] } else if let map = item as? [String: Any] { entry = map } else {
                throw fail(key, "expected {ref: IMAGE, platforms: [...]}")
            }
            for unknown in entry.keys where !["ref", "platforms", "verify"].contains(unknown) {
                throw fail("\(key).\(unknown)", "unknown key; an image has ref, platforms and verify")
            }
            var verifyKey: String?
            var keyless: KeylessPolicy?
            func resolvePath(_ path: String) -> String {
                path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).path
            }
            if let verify = entry["verify"] {
                let usage = "expected {key: FILE.pub} (a PEM public key) or {certificateRoot: ROOTS.pem, identity: SIGNER, issuer: OIDC-ISSUER} (keyless)"
                guard let map = verify as? [String: Any] else { throw fail("\(key).verify", usage) }
                if let keyPath = map["key"] as? String, !keyPath.isEmpty, map.keys.allSatisfy({ $0 == "key" }) {
                    verifyKey = resolvePath(keyPath)
                } else if let root = map["certificateRoot"] as? String, let identity = map["identity"] as? String,
                          let issuer = map["issuer"] as? String, !root.isEmpty, !identity.isEmpty, !issuer.isEmpty,
                          Set(map.keys) == ["certificateRoot", "identity", "issuer"] {
                    keyless = KeylessPolicy(certificateRoot: resolvePath(root), identity: identity, issuer: issuer)
                } else {
                    throw fail("\(key).verify", usage)
                }
            }
            guard let refText = entry["ref"] as? String else { throw fail("\(key).ref", "missing; e.g. ref: docker.io/library/flink:1.17.1") }
            let reference: Reference
            do { reference = try Reference(parsing: refText) } catch { throw fail("\(key).ref", "\(error)") }
            guard seen.insert(reference).inserted else { throw fail("\(key).ref", "\(reference) is listed twice") }
            images.append(ImageSpec(reference: reference,
                                    platforms: try parsePlatforms(entry["platforms"], key: "\(key).platforms", fail: fail),
                                    platformsExplicit: entry["platforms"] != nil, verifyKey: verifyKey, keyless: keyless))
        }

        var mirrors: [String: URL] = [:]
        if let mirrorMap = top["mirrors"] {
            guard let map = mirrorMap as? [String: Any] else { throw fail("mirrors", "expected REGISTRY: URL pairs") }
            for (registry, value) in map {
                guard let text = value as? String, let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                    throw fail("mirrors.\(registry)", "expected an http:// or https:// URL")
                }
                if url.hasUserInfo { throw fail("mirrors.\(registry)", userInfoFix(url, credentials: "in an auth file (`podman login`, --authfile)")) }
                mirrors[registry] = url
            }
        }
        let jars = try top["jars"].map { try parseJars($0, fail: fail) }
        let charts = try top["charts"].map { try parseCharts($0, directory: directory, fail: fail) } ?? []
        return BundleSpec(images: images, mirrors: mirrors, jars: jars, charts: charts)
    }

    /// A password in a URL would end up in the lock, the bundle and every log: refused, with
    /// where the credential belongs instead. The message names the URL without its user info.
    public static func userInfoFix(_ url: URL, credentials: String) -> String {
        "\(url.withoutUserInfo.absoluteString) is written with a user name or password; remove them from the URL and put the credentials \(credentials) (airgap never records them)"
    }

    private static func parseJars(_ value: Any, fail: (String, String) -> SpecError) throws -> JarSpec {
        guard let map = value as? [String: Any] else { throw fail("jars", "expected {repository: URL, artifacts: [group:artifact:version]}") }
        for key in map.keys where !["repository", "artifacts"].contains(key) {
            throw fail("jars.\(key)", "unknown key; jars has repository and artifacts")
        }
        var repository = JarSpec.mavenCentral
        if let text = map["repository"] {
            guard let text = text as? String, let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw fail("jars.repository", "expected an http:// or https:// URL of a Maven 2 repository")
            }
            if url.hasUserInfo {
                throw fail("jars.repository", userInfoFix(url, credentials: "in AIRGAP_MAVEN_USERNAME/AIRGAP_MAVEN_PASSWORD or ~/.netrc"))
            }
            repository = url
        }
        guard let list = map["artifacts"] as? [Any], !list.isEmpty else {
            throw fail("jars.artifacts", "expected a list of groupId:artifactId:version[:classifier]")
        }
        var artifacts: [MavenCoordinate] = []
        for (position, item) in list.enumerated() {
            guard let text = item as? String else { throw fail("jars.artifacts[\(position)]", "expected groupId:artifactId:version") }
            let coordinate: MavenCoordinate
            do { coordinate = try MavenCoordinate(parsing: text) } catch { throw fail("jars.artifacts[\(position)]", "\(error)") }
            guard !artifacts.contains(coordinate) else { throw fail("jars.artifacts[\(position)]", "\(coordinate) is listed twice") }
            artifacts.append(coordinate)
        }
        return JarSpec(repository: repository, artifacts: artifacts)
    }

    private static func parseCharts(_ value: Any, directory: String, fail: (String, String) -> SpecError) throws -> [ChartSource] {
        guard let list = value as? [Any] else { throw fail("charts", "expected a list of {path}, {repo, name, version} or {oci, version}") }
        var charts: [ChartSource] = []
        for (position, item) in list.enumerated() {
            let key = "charts[\(position)]"
            guard let map = item as? [String: String] else { throw fail(key, "expected {path: DIR}, {repo: URL, name, version} or {oci: oci://host/ns/name, version}") }
            let source: ChartSource
            switch Set(map.keys) {
            case ["path"]:
                let path = map["path"]!
                source = .directory(path: path, directory: path.hasPrefix("/") ? path : "\(directory)/\(path)")
            case ["repo", "name", "version"]:
                guard let url = URL(string: map["repo"]!), url.scheme == "http" || url.scheme == "https" else {
                    throw fail("\(key).repo", "expected the http(s) URL of a Helm repository")
                }
                if url.hasUserInfo {
                    throw fail("\(key).repo", userInfoFix(url, credentials: "in AIRGAP_HELM_USERNAME/AIRGAP_HELM_PASSWORD or ~/.netrc"))
                }
                source = .repository(url: url, name: map["name"]!, version: map["version"]!)
            case ["oci", "version"]:
                let text = map["oci"]!
                guard text.hasPrefix("oci://") else { throw fail("\(key).oci", "expected oci://host/namespace/name") }
                let reference: Reference
                do { reference = try Reference(parsing: String(text.dropFirst("oci://".count)) + ":" + map["version"]!.replacingOccurrences(of: "+", with: "_")) } catch {
                    throw fail("\(key).oci", "\(error)")
                }
                source = .oci(reference: reference, url: text)
            default:
                throw fail(key, "a chart is {path}, {repo, name, version} or {oci, version}; got \(map.keys.sorted().joined(separator: ", "))")
            }
            guard !charts.contains(source) else { throw fail(key, "\(source) is listed twice") }
            charts.append(source)
        }
        return charts
    }

    private static func parsePlatforms(_ value: Any?, key: String, fail: (String, String) -> SpecError) throws -> PlatformSelection {
        guard let value else { return .some([defaultPlatform]) }
        if let text = value as? String {
            if text == "all" { return .all }
            do { return .some([try Platform(parsing: text)]) } catch { throw fail(key, "\(error)") }
        }
        guard let list = value as? [Any], !list.isEmpty else { throw fail(key, "expected \"all\" or a list like [linux/amd64, linux/arm64]") }
        var platforms: [Platform] = []
        for item in list {
            guard let text = item as? String else { throw fail(key, "each platform is a string like linux/arm64") }
            if text == "all" { throw fail(key, "\"all\" stands alone, not in a list") }
            do { platforms.append(try Platform(parsing: text)) } catch { throw fail(key, "\(error)") }
        }
        guard Set(platforms).count == platforms.count else { throw fail(key, "lists a platform twice") }
        return .some(platforms)
    }
}
