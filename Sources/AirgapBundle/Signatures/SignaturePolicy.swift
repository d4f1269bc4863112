import Foundation
import Manifests

/// `verify: {certificateRoot, identity, issuer}` in the spec: a keyless signature is accepted
/// when its certificate chains to a root in that PEM file and names that signer (an e-mail or
/// URI subject alternative name) and that OIDC issuer (Fulcio's extension).
public struct KeylessPolicy: Hashable, Sendable {
    public var certificateRoot: String
    public var identity: String
    public var issuer: String

    public init(certificateRoot: String, identity: String, issuer: String) {
        self.certificateRoot = certificateRoot
        self.identity = identity
        self.issuer = issuer
    }
}

/// A keyless policy with its trust roots read.
public struct KeylessTrust: Sendable {
    public var policy: KeylessPolicy
    public var roots: [X509Certificate]
    /// SHA-256 of the roots file: how the lock names what the chain was checked against.
    public var rootsDigest: Digest

    public init(_ policy: KeylessPolicy) throws {
        guard let data = FileManager.default.contents(atPath: policy.certificateRoot) else {
            throw KeyError.unreadable(path: policy.certificateRoot, detail: "no such file")
        }
        roots = X509Certificate.all(pem: data)
        guard !roots.isEmpty else { throw KeyError.notAKey(path: policy.certificateRoot, detail: "no PEM certificate in it") }
        self.policy = policy
        rootsDigest = Digest.sha256(of: data)
    }

    public var label: String { "keyless signer \(policy.identity) (issuer \(policy.issuer), roots \(policy.certificateRoot))" }
}

/// What an image's cosign signature must satisfy: a public key, or a keyless policy.
public enum SignaturePolicy: Sendable {
    case key(VerificationKey)
    case keyless(KeylessTrust)

    public var label: String {
        switch self {
        case .key(let key): return key.label
        case .keyless(let trust): return trust.label
        }
    }
}
