import Foundation
import Manifests

/// The bundle's SBOM: CycloneDX 1.5 JSON describing every image (and each platform manifest),
/// JAR, chart and signature artifact the lock pins, with their hashes. A function of the lock's
/// bytes alone: the serial number is derived from them and nothing else (no clock, no host)
/// goes in, so the same lock gives the same SBOM, packs stay byte-identical, and `verify` can
/// rebuild it to prove the copy in the bundle says what the lock says.
public enum CycloneDX {
    public static let fileSuffix = ".cdx.json"

    public static func path(for bundle: String) -> String { bundle + fileSuffix }

    struct Hash: Encodable { var alg: String; var content: String }
    struct Property: Encodable { var name: String; var value: String }
    struct ExternalReference: Encodable {
        var type: String
        var url: String
        var comment: String?
        var hashes: [Hash]?
    }
    final class Component: Encodable {
        var type: String
        var bomRef: String
        var group: String?
        var name: String
        var version: String?
        var description: String?
        var hashes: [Hash]?
        var purl: String?
        var externalReferences: [ExternalReference]?
        var properties: [Property]?
        var components: [Component]?

        init(type: String, bomRef: String, group: String? = nil, name: String, version: String? = nil, description: String? = nil,
             hashes: [Hash]? = nil, purl: String? = nil, externalReferences: [ExternalReference]? = nil,
             properties: [Property]? = nil, components: [Component]? = nil) {
            self.type = type
            self.bomRef = bomRef
            self.group = group
            self.name = name
            self.version = version
            self.description = description
            self.hashes = hashes
            self.purl = purl
            self.externalReferences = externalReferences
            self.properties = properties
            self.components = components
        }

        enum CodingKeys: String, CodingKey {
            case type, bomRef = "bom-ref", group, name, version, description, hashes, purl, externalReferences, properties, components
        }
    }
    struct Tool: Encodable { var type: String; var name: String; var version: String }
    struct Metadata: Encodable {
        struct Tools: Encodable { var components: [Tool] }
        var tools: Tools
        var component: Component
        var properties: [Property]
    }
    struct Document: Encodable {
        var bomFormat = "CycloneDX"
        var specVersion = "1.5"
        var serialNumber: String
        var version = 1
        var metadata: Metadata
        var components: [Component]
    }

    /// The SBOM for `lock`, whose exact bytes are `lockData`.
    public static func document(for lock: Lockfile, lockData: Data) throws -> Data {
        let lockDigest = Digest.sha256(of: lockData)
        var components: [Component] = []
        for image in lock.images { components.append(imageComponent(image)) }
        for jar in lock.jars { components.append(jarComponent(jar)) }
        for chart in lock.charts { components.append(chartComponent(chart)) }
        let bundle = Component(type: "application", bomRef: "airgap-bundle", name: "airgap bundle", version: lockDigest.description,
                               description: "Everything an airgap bundle carries, as airgap/bundle.lock pins it",
                               hashes: [Hash(alg: "SHA-256", content: lockDigest.encoded)])
        let document = Document(
            serialNumber: serialNumber(lockDigest),
            metadata: Metadata(tools: .init(components: [Tool(type: "application", name: "airgap", version: lock.airgapVersion)]),
                               component: bundle,
                               properties: [Property(name: "airgap:lockDigest", value: lockDigest.description),
                                            Property(name: "airgap:specDigest", value: lock.specDigest)]),
            components: components)
        return try JSONEncoder.canonical(pretty: true).encode(document) + Data("\n".utf8)
    }

    /// A name-based UUID (version 5 layout) from the lock's SHA-256: the same lock, the same serial.
    static func serialNumber(_ digest: Digest) -> String {
        var hex = Array(digest.encoded.prefix(32))
        hex[12] = "5"
        let variant = Int(String(hex[16]), radix: 16)! & 0x3 | 0x8
        hex[16] = Character(String(variant, radix: 16))
        let text = String(hex)
        func part(_ from: Int, _ to: Int) -> Substring { text.dropFirst(from).prefix(to - from) }
        return "urn:uuid:\(part(0, 8))-\(part(8, 12))-\(part(12, 16))-\(part(16, 20))-\(part(20, 32))"
    }

    /// purl's percent-encoding for a qualifier value or version.
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: ".-_~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// `pkg:oci/<name>@sha256%3A…?arch=…&os=…&repository_url=…&tag=…`, qualifiers sorted.
    static func ociPurl(_ reference: Reference, digest: Digest, platform: Platform?) -> String {
        let name = String(reference.repository.split(separator: "/").last ?? "").lowercased()
        var qualifiers: [(String, String)] = []
        if let platform {
            qualifiers.append(("arch", platform.architecture + (platform.variant.map { "/\($0)" } ?? "")))
            qualifiers.append(("os", platform.os))
        }
        qualifiers.append(("repository_url", reference.name))
        if let tag = reference.tag { qualifiers.append(("tag", tag)) }
        return "pkg:oci/\(name)@\(encode(digest.description))?" + qualifiers.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
    }

    static func imageComponent(_ image: LockedImage) -> Component {
        let reference = try? Reference(parsing: image.reference)
        let name = reference.map { String($0.repository.split(separator: "/").last ?? "") } ?? image.reference
        guard let bundled = image.bundled, let reference else {
            return Component(type: "container", bomRef: image.reference, name: name, version: reference?.tag,
                             properties: [Property(name: "airgap:unresolved", value: image.unresolved ?? "no pin")])
        }
        let platforms = image.manifests.map { manifest -> Component in
            let platform = try? Platform(parsing: manifest.platform)
            return Component(type: "container", bomRef: "\(reference.name)@\(manifest.digest)", name: name, version: manifest.digest.description,
                             hashes: [Hash(alg: "SHA-256", content: manifest.digest.encoded)],
                             purl: ociPurl(reference, digest: manifest.digest, platform: platform),
                             properties: [Property(name: "airgap:platform", value: manifest.platform)])
        }
        var properties = [Property(name: "airgap:reference", value: image.reference),
                          Property(name: "airgap:platforms", value: image.manifests.map(\.platform).joined(separator: ","))]
        if let upstream = image.upstream, upstream.digest != bundled.digest {
            properties.append(Property(name: "airgap:upstreamDigest", value: upstream.digest.description))
        }
        for check in image.verifiedBy ?? [] {
            let signer = check.identity.map { " keyless \($0) via \(check.issuer ?? "?")" } ?? ""
            properties.append(Property(name: "airgap:verifiedBy", value: "\(check.key) (\(check.keyType.rawValue))\(signer) over \(check.digest)"))
        }
        let references = (image.signatures ?? []).map { artifact -> ExternalReference in
            let (type, comment): (String, String)
            switch artifact.kind {
            case .signature: (type, comment) = ("other", "cosign signature of \(artifact.subject)")
            case .attestation: (type, comment) = ("attestation", "cosign attestation of \(artifact.subject)")
            case .sbom: (type, comment) = ("bom", "SBOM attached to \(artifact.subject) (cosign)")
            case .referrers: (type, comment) = ("attestation", "OCI referrers of \(artifact.subject)")
            }
            return ExternalReference(type: type, url: "oci://\(artifact.reference)@\(artifact.bundled.digest)", comment: comment,
                                     hashes: [Hash(alg: "SHA-256", content: artifact.bundled.digest.encoded)])
        }
        return Component(type: "container", bomRef: image.reference, name: name, version: bundled.digest.description,
                         hashes: [Hash(alg: "SHA-256", content: bundled.digest.encoded)],
                         purl: ociPurl(reference, digest: bundled.digest, platform: nil),
                         externalReferences: references.isEmpty ? nil : references, properties: properties,
                         components: platforms.count == 1 && image.manifests.first?.digest == bundled.digest ? nil : platforms)
    }

    static func jarComponent(_ jar: LockedJar) -> Component {
        let coordinate = jar.coordinates
        var purl = "pkg:maven/\(coordinate.groupId)/\(coordinate.artifactId)@\(encode(coordinate.version))"
        var qualifiers = [("type", "jar")]
        if let classifier = coordinate.classifier { qualifiers.insert(("classifier", classifier), at: 0) }
        purl += "?" + qualifiers.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
        var hashes: [Hash] = []
        if let sha256 = jar.sha256 { hashes.append(Hash(alg: "SHA-256", content: sha256.encoded)) }
        if let upstream = jar.upstreamChecksum {
            let alg = ["sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"][upstream.algorithm] ?? upstream.algorithm
            if !(alg == "SHA-256" && hashes.contains { $0.content == upstream.value.lowercased() }) {
                hashes.append(Hash(alg: alg, content: upstream.value.lowercased()))
            }
        }
        var properties = [Property(name: "airgap:verified", value: jar.verified ? "true" : "false")]
        if let upstream = jar.upstreamChecksum {
            properties.append(Property(name: "airgap:upstreamChecksum", value: "\(upstream.algorithm):\(upstream.value.lowercased())"))
        }
        if let unresolved = jar.unresolved { properties.append(Property(name: "airgap:unresolved", value: unresolved)) }
        return Component(type: "library", bomRef: jar.reference, group: coordinate.groupId, name: coordinate.artifactId, version: coordinate.version,
                         hashes: hashes.isEmpty ? nil : hashes, purl: purl,
                         externalReferences: [ExternalReference(type: "distribution", url: jar.url, comment: nil, hashes: nil)],
                         properties: properties)
    }

    static func chartComponent(_ chart: LockedChart) -> Component {
        var properties = [Property(name: "airgap:source", value: chart.source), Property(name: "airgap:reference", value: chart.reference)]
        if let bundled = chart.bundled { properties.append(Property(name: "airgap:manifestDigest", value: bundled.digest.description)) }
        if let unresolved = chart.unresolved { properties.append(Property(name: "airgap:unresolved", value: unresolved)) }
        return Component(type: "application", bomRef: chart.reference, name: chart.name, version: chart.version,
                         description: "Helm chart", hashes: chart.digest.map { [Hash(alg: "SHA-256", content: $0.encoded)] },
                         properties: properties)
    }
}
