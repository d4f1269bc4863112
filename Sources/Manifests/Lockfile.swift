import Foundation

/// `bundle.lock`: what a spec resolved to, pinned by digest, so the enclave side can check a
/// bundle against it and the connected side can rebuild the same bundle.
///
/// Written as JSON with sorted keys, entries sorted, two-space indentation: the same content
/// always gives the same bytes, and a change shows as a small diff.
public struct Lockfile: Codable, Equatable, Sendable {
    public static let currentVersion = 1

    public var lockVersion: Int
    public var airgapVersion: String
    /// Digest of the spec's canonical form: an edited spec that was not locked again shows here.
    public var specDigest: String
    public var images: [LockedImage]
    public var jars: [LockedJar]
    public var charts: [LockedChart]

    public init(airgapVersion: String, specDigest: String, images: [LockedImage], jars: [LockedJar], charts: [LockedChart]) {
        self.lockVersion = Self.currentVersion
        self.airgapVersion = airgapVersion
        self.specDigest = specDigest
        self.images = images.sorted { $0.reference < $1.reference }
        self.jars = jars.sorted { $0.coordinates < $1.coordinates }
        self.charts = charts.sorted { $0.reference < $1.reference }
    }

    public func encoded() throws -> Data {
        try JSONEncoder.canonical(pretty: true).encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data, path: String) throws -> Lockfile {
        do { return try JSONDecoder().decode(Lockfile.self, from: data) } catch {
            let (location, detail) = JSONErrorText.locate(error, in: data, source: path)
            throw ManifestError.malformedLock(location: location, detail: detail)
        }
    }

    /// Every bundle entry the lock pins: `index.json` reference name → pinned descriptor (nil
    /// where the entry is still unresolved).
    public var bundleEntries: [String: Pin?] {
        var entries: [String: Pin?] = [:]
        for image in images {
            entries[image.reference] = .some(image.bundled)
            for artifact in image.signatures ?? [] { entries[artifact.reference] = .some(artifact.bundled) }
        }
        for jar in jars { entries[jar.reference] = .some(jar.bundled) }
        for chart in charts { entries[chart.reference] = .some(chart.bundled) }
        return entries
    }

    /// References of entries with no pin yet, each with the reason.
    public var unresolved: [(reference: String, reason: String)] {
        images.compactMap { image in image.unresolved.map { (image.reference, $0) } }
            + jars.compactMap { jar in jar.unresolved.map { (jar.coordinates.description, $0) } }
            + charts.compactMap { chart in chart.unresolved.map { (chart.reference, $0) } }
    }
}

/// A digest-pinned descriptor, as recorded in the lock.
public struct Pin: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64

    public init(mediaType: String, digest: Digest, size: Int64) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }

    public init(_ descriptor: Descriptor) {
        self.init(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
    }
}

public struct LockedImage: Codable, Equatable, Sendable {
    /// The normalised reference as the spec writes it; also the bundle's ref name.
    public var reference: String
    /// The platforms asked for: `all` or `linux/amd64,linux/arm64`.
    public var platforms: String
    /// What the reference resolved to upstream (an index or a manifest).
    public var upstream: Pin?
    /// What the bundle's `index.json` entry points at.
    public var bundled: Pin?
    /// The platform manifests carried.
    public var manifests: [LockedPlatformManifest]
    /// Bytes of every blob the image carries, manifests included.
    public var size: Int64?
    /// Why there is no pin yet (e.g. the seed lock, written where the registry cannot be reached).
    public var unresolved: String?
    /// Signatures, attestations, SBOMs and referrers carried with the image; nil when they were
    /// not looked for (`--no-signatures`, or a lock written before airgap carried them).
    public var signatures: [LockedSignature]?
    /// The cosign signatures checked with the spec's key when the lock was written: one for the
    /// image's digest, or one per platform manifest when the index was narrowed.
    public var verifiedBy: [LockedKeyCheck]?

    public init(reference: String, platforms: String, upstream: Pin?, bundled: Pin?, manifests: [LockedPlatformManifest], size: Int64?,
                unresolved: String? = nil, signatures: [LockedSignature]? = nil, verifiedBy: [LockedKeyCheck]? = nil) {
        self.reference = reference
        self.platforms = platforms
        self.upstream = upstream
        self.bundled = bundled
        self.manifests = manifests
        self.size = size
        self.unresolved = unresolved
        self.signatures = signatures.map { $0.sorted { $0.reference < $1.reference } }
        self.verifiedBy = verifiedBy
    }
}

/// A cosign artifact or referrers index found beside an image, carried as its own bundle entry
/// named `<registry>/<repository>:<tag>`, the tag being where it lives upstream.
public struct LockedSignature: Codable, Equatable, Sendable {
    public var kind: Cosign.ArtifactKind
    /// The manifest of the image it is about (the image's own digest or a platform manifest).
    public var subject: Digest
    /// The bundle's ref name: the image's repository and the artifact's tag.
    public var reference: String
    /// The artifact's manifest (or, for referrers, the index listing them).
    public var bundled: Pin

    public init(kind: Cosign.ArtifactKind, subject: Digest, reference: String, bundled: Pin) {
        self.kind = kind
        self.subject = subject
        self.reference = reference
        self.bundled = bundled
    }
}

/// Which key accepted an image: the lock records it, the bundle carries the signature.
public struct LockedKeyCheck: Codable, Equatable, Sendable {
    /// `sha256:` of the DER public key.
    public var key: String
    public var keyType: EVPKey.Kind
    /// The digest the verified signature signs.
    public var digest: Digest
    /// The `.sig` entry holding the signature that verified.
    public var signature: String
    /// Keyless signatures: the signer and OIDC issuer the certificate names (`key` is then the
    /// SHA-256 of the trust-root file it chained to).
    public var identity: String?
    public var issuer: String?

    public init(key: String, keyType: EVPKey.Kind, digest: Digest, signature: String, identity: String? = nil, issuer: String? = nil) {
        self.key = key
        self.keyType = keyType
        self.digest = digest
        self.signature = signature
        self.identity = identity
        self.issuer = issuer
    }
}

public struct LockedPlatformManifest: Codable, Equatable, Sendable {
    public var platform: String
    public var digest: Digest
    public var size: Int64

    public init(platform: String, digest: Digest, size: Int64) {
        self.platform = platform
        self.digest = digest
        self.size = size
    }
}

public struct LockedJar: Codable, Equatable, Sendable {
    public struct UpstreamChecksum: Codable, Equatable, Sendable {
        public var algorithm: String
        public var value: String

        public init(algorithm: String, value: String) {
            self.algorithm = algorithm
            self.value = value
        }
    }

    public var coordinates: MavenCoordinate
    /// The bundle's ref name for the JAR's artifact.
    public var reference: String
    public var url: String
    public var sha256: Digest?
    public var size: Int64?
    /// The checksum the repository published and the JAR was checked against; nil only when
    /// `verified` is false.
    public var upstreamChecksum: UpstreamChecksum?
    /// False when the JAR was accepted with `--allow-unverified`: no published checksum existed.
    public var verified: Bool
    /// The artifact manifest the bundle's `index.json` entry points at.
    public var bundled: Pin?
    public var unresolved: String?

    public init(coordinates: MavenCoordinate, url: String, sha256: Digest?, size: Int64?, upstreamChecksum: UpstreamChecksum?,
                verified: Bool, bundled: Pin?, unresolved: String? = nil) {
        self.coordinates = coordinates
        self.reference = coordinates.bundleReference
        self.url = url
        self.sha256 = sha256
        self.size = size
        self.upstreamChecksum = upstreamChecksum
        self.verified = verified
        self.bundled = bundled
        self.unresolved = unresolved
    }
}

public struct LockedChart: Codable, Equatable, Sendable {
    public var name: String
    public var version: String
    /// `path:charts/flink-cdc`, `repo:https://…`, or `oci:oci://host/ns/name`.
    public var source: String
    /// The bundle's ref name: `charts/<name>:<version>`.
    public var reference: String
    /// SHA-256 of the chart archive (`<name>-<version>.tgz`).
    public var digest: Digest?
    public var size: Int64?
    /// The chart's OCI manifest, what the bundle's `index.json` entry points at.
    public var bundled: Pin?
    public var unresolved: String?

    public init(name: String, version: String, source: String, digest: Digest?, size: Int64?, bundled: Pin?, unresolved: String? = nil) {
        self.name = name
        self.version = version
        self.source = source
        self.reference = Self.reference(name: name, version: version)
        self.digest = digest
        self.size = size
        self.bundled = bundled
        self.unresolved = unresolved
    }

    /// OCI tags cannot hold `+`; Helm writes `_` for it, and so does airgap.
    public static func reference(name: String, version: String) -> String {
        "charts/\(name):\(version.replacingOccurrences(of: "+", with: "_"))"
    }
}
