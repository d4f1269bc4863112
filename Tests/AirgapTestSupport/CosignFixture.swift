import Foundation

/// cosign-format signatures and OCI 1.1 referrers written by `Tests/Fixtures/cosign_sign.py`
/// (Python `cryptography`, an implementation independent of airgap's), in the venv
/// `scripts/install-deps.sh` makes.
public enum CosignFixture {
    static var python: String { Helm.python }

    /// Writes `PREFIX.key` (PKCS#8, mode 0600) and `PREFIX.pub`; returns both paths.
    @discardableResult
    public static func keygen(_ prefix: String, type: String = "ecdsa") throws -> (key: String, pub: String) {
        try Command.check(python, [Paths.fixture("cosign_sign.py"), "keygen", "--type", type, "--out", prefix])
        return (prefix + ".key", prefix + ".pub")
    }

    /// Signs `digest` in `repository` the way `cosign sign --key` does: the `.sig` tag. Returns
    /// the signature manifest's digest.
    @discardableResult
    public static func sign(registry: RegistryServer, repository: String, digest: String, key: String,
                            dockerReference: String? = nil, claimedDigest: String? = nil) throws -> String {
        var arguments = [Paths.fixture("cosign_sign.py"), "sign", "--registry", registry.host, "--repository", repository,
                         "--digest", digest, "--key", key]
        if let dockerReference { arguments += ["--docker-reference", dockerReference] }
        if let claimedDigest { arguments += ["--claimed-digest", claimedDigest] }
        return try Command.check(python, arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An in-toto attestation as an OCI 1.1 referrer of `digest`, listed in the fallback tag, or
    /// with `tagScheme` at cosign's `.att` tag. Returns the manifest's digest.
    @discardableResult
    public static func attest(registry: RegistryServer, repository: String, digest: String, key: String, tagScheme: Bool = false) throws -> String {
        try Command.check(python, [Paths.fixture("cosign_sign.py"), "attest", "--registry", registry.host, "--repository", repository,
                                   "--digest", digest, "--key", key] + (tagScheme ? ["--tag-scheme"] : []))
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A Fulcio-like root and intermediate CA; returns the root's PEM file.
    public static func keylessCA(_ prefix: String) throws -> String {
        try Command.check(python, [Paths.fixture("cosign_sign.py"), "keyless-ca", "--out", prefix])
        return prefix + "-root.pem"
    }

    /// A keyless signature by `identity` at `issuer`, certified by the CA at `ca` (a prefix).
    @discardableResult
    public static func signKeyless(registry: RegistryServer, repository: String, digest: String, ca: String,
                                   identity: String, issuer: String) throws -> String {
        try Command.check(python, [Paths.fixture("cosign_sign.py"), "sign-keyless", "--registry", registry.host, "--repository", repository,
                                   "--digest", digest, "--ca", ca, "--identity", identity, "--issuer", issuer])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A CycloneDX SBOM at cosign's `.sbom` tag (`cosign attach sbom`). Returns its manifest digest.
    @discardableResult
    public static func attachSBOM(registry: RegistryServer, repository: String, digest: String) throws -> String {
        try Command.check(python, [Paths.fixture("cosign_sign.py"), "attach-sbom", "--registry", registry.host, "--repository", repository,
                                   "--digest", digest]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The raw manifest a reference names in a registry, as skopeo (a peer) reads it, or nil
    /// when the registry does not have it.
    public static func rawManifest(_ reference: String) throws -> String? {
        let result = try Command.run("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
        return result.status == 0 ? result.stdout : nil
    }
}
