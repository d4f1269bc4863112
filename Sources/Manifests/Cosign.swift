import Foundation

/// cosign's formats, as its specification (`specs/SIGNATURE_SPEC.md`) documents them, and the
/// OCI 1.1 referrers tag schema: names and payloads only, no behaviour.
public enum Cosign {
    /// What an artifact found beside an image is.
    public enum ArtifactKind: String, Codable, Sendable, CaseIterable {
        /// `sha256-<hex>.sig`: simple-signing payloads, each layer signed.
        case signature = "sig"
        /// `sha256-<hex>.att`: DSSE envelopes (in-toto attestations).
        case attestation = "att"
        /// `sha256-<hex>.sbom`: an SBOM attached with `cosign attach sbom`.
        case sbom = "sbom"
        /// `sha256-<hex>`: the OCI 1.1 referrers index (API answer or fallback tag).
        case referrers = "referrers"
    }

    public static let signatureAnnotation = "dev.cosignproject.cosign/signature"
    public static let certificateAnnotation = "dev.sigstore.cosign/certificate"
    public static let chainAnnotation = "dev.sigstore.cosign/chain"
    public static let simpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
    public static let dsseMediaType = "application/vnd.dsse.envelope.v1+json"
    public static let predicateTypeAnnotation = "predicateType"
    public static let signatureType = "cosign container image signature"

    /// The tag cosign and the referrers fallback use for artifacts about `subject`.
    public static func tag(for subject: Digest, kind: ArtifactKind) -> String {
        let base = "\(subject.algorithm.rawValue)-\(subject.encoded)"
        return kind == .referrers ? base : "\(base).\(kind.rawValue)"
    }

    /// The subject and kind a tag names, or nil for any other tag.
    public static func parseTag(_ tag: String) -> (subject: Digest, kind: ArtifactKind)? {
        guard tag.hasPrefix("sha256-") else { return nil }
        let rest = tag.dropFirst("sha256-".count)
        let hex = String(rest.prefix(64))
        guard let subject = try? Digest(algorithm: .sha256, encoded: hex) else { return nil }
        let suffix = rest.dropFirst(64)
        if suffix.isEmpty { return (subject, .referrers) }
        guard suffix.hasPrefix("."), let kind = ArtifactKind(rawValue: String(suffix.dropFirst())), kind != .referrers else { return nil }
        return (subject, kind)
    }

    /// The simple-signing payload: what a cosign signature signs.
    public struct SimpleSigning: Codable, Sendable {
        public struct Critical: Codable, Sendable {
            public struct Identity: Codable, Sendable {
                public var dockerReference: String
                enum CodingKeys: String, CodingKey { case dockerReference = "docker-reference" }
            }
            public struct Image: Codable, Sendable {
                public var dockerManifestDigest: String
                enum CodingKeys: String, CodingKey { case dockerManifestDigest = "docker-manifest-digest" }
            }
            public var identity: Identity
            public var image: Image
            public var type: String
        }
        public var critical: Critical
    }
}
