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

    public init(reference: Reference, platforms: PlatformSelection, platformsExplicit: Bool = true) {
        self.reference = reference
        self.platforms = platforms
        self.platformsExplicit = platformsExplicit
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

    public init(images: [ImageSpec], mirrors: [String: URL] = [:]) {
        self.images = images
        self.mirrors = mirrors
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
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch {
            throw SpecError.unreadable(path: path, detail: "not valid YAML (\(error))")
        }
        guard let top = root as? [String: Any] else {
            throw SpecError.unreadable(path: path, detail: "expected a mapping with \"images:\" at the top")
        }
        func fail(_ key: String, _ problem: String) -> SpecError { .invalid(path: path, key: key, problem: problem) }
        for key in top.keys where !["images", "mirrors"].contains(key) {
            throw fail(key, "unknown key; known keys are images, mirrors")
        }

        guard let imageList = top["images"] as? [Any], !imageList.isEmpty else {
            throw fail("images", "must be a non-empty list of {ref, platforms}")
        }
        var images: [ImageSpec] = []
        var seen = Set<Reference>()
        for (position, item) in imageList.enumerated() {
            let key = "images[\(position)]"
            let entry: [String: Any]
            if let text = item as? String { entry = ["ref": text] } else if let map = item as? [String: Any] { entry = map } else {
                throw fail(key, "expected {ref: IMAGE, platforms: [...]}")
            }
            for unknown in entry.keys where !["ref", "platforms"].contains(unknown) {
                throw fail("\(key).\(unknown)", "unknown key; an image has ref and platforms")
            }
            guard let refText = entry["ref"] as? String else { throw fail("\(key).ref", "missing; e.g. ref: docker.io/library/flink:1.17.1") }
            let reference: Reference
            do { reference = try Reference(parsing: refText) } catch { throw fail("\(key).ref", "\(error)") }
            guard seen.insert(reference).inserted else { throw fail("\(key).ref", "\(reference) is listed twice") }
            images.append(ImageSpec(reference: reference,
                                    platforms: try parsePlatforms(entry["platforms"], key: "\(key).platforms", fail: fail),
                                    platformsExplicit: entry["platforms"] != nil))
        }

        var mirrors: [String: URL] = [:]
        if let mirrorMap = top["mirrors"] {
            guard let map = mirrorMap as? [String: Any] else { throw fail("mirrors", "expected REGISTRY: URL pairs") }
            for (registry, value) in map {
                guard let text = value as? String, let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                    throw fail("mirrors.\(registry)", "expected an http:// or https:// URL")
                }
                mirrors[registry] = url
            }
        }
        return BundleSpec(images: images, mirrors: mirrors)
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
