import Foundation
import Manifests
import OCILayout

/// A PEM public key an image must be signed with (`images[].verify.key`, `--verify-key`),
/// named in messages by its file and fingerprint.
public struct VerificationKey: Sendable {
    public var path: String
    public var key: EVPKey

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyError.unreadable(path: path, detail: "no such file")
        }
        self.path = path
        self.key = try EVPKey.publicKey(pem: data, source: path)
    }

    /// `key.pem (sha256:1a2b3c4d5e6f…)`: enough to tell keys apart, never the key itself.
    public var label: String { "\(path) (\(key.fingerprint.algorithm.rawValue):\(key.fingerprint.short)…)" }
}

/// Checks an image's cosign signatures with a public key, as `cosign verify --key` does for
/// the signature part: a `.sig` layer's `dev.cosignproject.cosign/signature` must verify over
/// the layer's bytes (the simple-signing payload), whose `docker-manifest-digest` must be the
/// digest bundled and whose `docker-reference` must name the image's repository.
struct CosignVerifier {
    var client: RegistryClient
    var cache: BlobStore

    /// Simple-signing payloads are a few hundred bytes; anything large is not one.
    static let payloadLimit: Int64 = 1 << 20

    /// The digests that must carry a valid signature: the image's own when the bundle carries
    /// it unchanged, otherwise (an index narrowed to some platforms, which nobody signed) every
    /// platform manifest carried, as `cosign sign --recursive` signs them.
    static func requiredSubjects(of image: ResolvedImage) -> [Digest] {
        image.bundled.digest == image.upstream.digest ? [image.upstream.digest] : image.platformManifests.map(\.digest)
    }

    func verify(_ image: ResolvedImage, signatures: [ResolvedSignature], with policy: SignaturePolicy) throws -> [LockedKeyCheck] {
        let name = image.spec.reference.description
        let label = policy.label
        return try Self.requiredSubjects(of: image).map { subject in
            let tag = Cosign.tag(for: subject, kind: .signature)
            guard let artifact = signatures.first(where: { $0.kind == .signature && $0.subject == subject }) else {
                throw SignatureError.unsigned(image: name, digest: subject, key: label, tag: "\(image.spec.reference.name):\(tag)")
            }
            let display = artifact.reference
            guard let data = artifact.documents[artifact.descriptor.digest],
                  case .manifest(let manifest) = try ManifestDocument(decoding: data, mediaType: artifact.descriptor.mediaType)
            else { throw SignatureError.malformed(image: name, tag: display, detail: "not an image manifest") }
            var otherDigest: String?
            var otherReference: String?
            var found = 0
            var certificateProblem: String?
            for layer in manifest.layers where layer.mediaType == Cosign.simpleSigningMediaType {
                guard let encoded = layer.annotations?[Cosign.signatureAnnotation] else { continue }
                found += 1
                guard let signature = Data(base64Encoded: encoded), layer.size <= Self.payloadLimit else { continue }
                let payload = try self.payload(layer, repository: image.spec.reference.repository)
                var check: LockedKeyCheck
                switch policy {
                case .key(let key):
                    guard key.key.verify(signature, over: payload) else { continue }
                    check = LockedKeyCheck(key: key.key.fingerprint.description, keyType: key.key.kind, digest: subject, signature: artifact.reference)
                case .keyless(let trust):
                    switch Self.checkCertificate(layer, trust: trust, source: display) {
                    case .failure(let problem):
                        certificateProblem = problem.description
                        continue
                    case .success(let leafKey):
                        guard leafKey.verify(signature, over: payload) else {
                            certificateProblem = "the signature does not verify with its certificate's key"
                            continue
                        }
                        check = LockedKeyCheck(key: trust.rootsDigest.description, keyType: leafKey.kind, digest: subject,
                                               signature: artifact.reference, identity: trust.policy.identity, issuer: trust.policy.issuer)
                    }
                }
                guard let claims = try? JSONDecoder().decode(Cosign.SimpleSigning.self, from: payload) else {
                    throw SignatureError.malformed(image: name, tag: display, detail: "a verified payload that is not simple-signing JSON")
                }
                guard claims.critical.image.dockerManifestDigest == subject.description else {
                    otherDigest = claims.critical.image.dockerManifestDigest
                    continue
                }
                guard Self.sameRepository(claims.critical.identity.dockerReference, as: image.spec.reference) else {
                    otherReference = claims.critical.identity.dockerReference
                    continue
                }
                check.digest = subject
                return check
            }
            if let otherDigest { throw SignatureError.otherDigest(image: name, digest: subject, key: label, tag: display, signed: otherDigest) }
            if let otherReference { throw SignatureError.otherReference(image: name, key: label, tag: display, signed: otherReference) }
            if let certificateProblem {
                throw SignatureError.keylessRejected(image: name, digest: subject, policy: label, tag: display, problem: certificateProblem)
            }
            throw SignatureError.noValidSignature(image: name, digest: subject, key: label, tag: display, found: found)
        }
    }

    /// A keyless signature's certificate (`dev.sigstore.cosign/certificate`, with
    /// `dev.sigstore.cosign/chain`): it must chain to one of the trust roots, allow code signing,
    /// and name the signer and OIDC issuer asked for. The chain is checked as at the
    /// certificate's own start of validity: Fulcio certificates live ten minutes, and without a
    /// transparency-log entry nothing proves when the signature was made (see the README).
    static func checkCertificate(_ layer: Descriptor, trust: KeylessTrust, source: String) -> Result<EVPKey, CertificateProblem> {
        guard let pem = layer.annotations?[Cosign.certificateAnnotation],
              let leaf = X509Certificate.all(pem: Data(pem.utf8)).first else {
            return .failure(CertificateProblem("it carries no certificate (a key-signed signature)"))
        }
        let chain = layer.annotations?[Cosign.chainAnnotation].map { X509Certificate.all(pem: Data($0.utf8)) } ?? []
        if let error = leaf.chainError(intermediates: chain, roots: trust.roots, at: leaf.notBefore) {
            return .failure(CertificateProblem("its certificate does not chain to \(trust.policy.certificateRoot): \(error)"))
        }
        guard leaf.allowsCodeSigning else { return .failure(CertificateProblem("its certificate does not allow code signing")) }
        let identities = leaf.identities
        guard identities.contains(trust.policy.identity) else {
            return .failure(CertificateProblem("its certificate names \(identities.isEmpty ? "no signer" : identities.joined(separator: ", ")), not \(trust.policy.identity)"))
        }
        let issuer = leaf.oidcIssuer
        guard issuer == trust.policy.issuer else {
            return .failure(CertificateProblem("its certificate's OIDC issuer is \(issuer ?? "not recorded"), not \(trust.policy.issuer)"))
        }
        do { return .success(try leaf.publicKey(source: source)) } catch { return .failure(CertificateProblem("\(error)")) }
    }

    struct CertificateProblem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The payload blob, fetched into the cache (where pack finds it again) and read back.
    private func payload(_ layer: Descriptor, repository: String) throws -> Data {
        if !cache.contains(layer.digest, size: layer.size) {
            try client.fetchBlob(repository: repository, descriptor: layer, into: cache)
        }
        return try cache.read(layer.digest)
    }

    /// cosign writes the repository without tag (`index.docker.io/library/flink` for Docker Hub);
    /// a tag or digest after it is ignored, as `cosign verify` ignores it.
    static func sameRepository(_ dockerReference: String, as reference: Reference) -> Bool {
        var text = dockerReference
        if text.hasPrefix("index.docker.io/") { text = "docker.io/" + text.dropFirst("index.docker.io/".count) }
        guard let parsed = try? Reference(parsing: text) else { return false }
        return parsed.registry == reference.registry && parsed.repository == reference.repository
    }
}
