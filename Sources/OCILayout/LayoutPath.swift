import Manifests

/// The names an OCI image layout may hold, and nothing else. Every tar entry of a bundle is
/// classified through here, so a hostile name (`../x`, `/etc/passwd`, `blobs/sha256/../../x`)
/// can never be mistaken for part of the layout.
public enum LayoutPath: Equatable, Sendable {
    public static let layoutFileName = "oci-layout"
    public static let indexFileName = "index.json"
    /// A copy of the lockfile the bundle was packed from, beside the layout (see the README).
    public static let lockFileName = "airgap/bundle.lock"
    /// cosign `sign-blob` format (base64 of the signature) over the exact bytes of the lock.
    public static let lockSignatureName = "airgap/bundle.lock.sig"
    /// CycloneDX 1.5 JSON describing what the lock pins.
    public static let sbomName = "airgap/sbom.cdx.json"

    case layoutFile
    case indexFile
    case lockFile
    case lockSignature
    case sbom
    case directory(String)
    case blob(Digest)

    /// Classifies a tar entry name; nil for anything outside the layout. A leading `./` (what
    /// `tar -C dir .` writes) is accepted.
    public init?(entryName: String) {
        var name = Substring(entryName)
        if name.hasPrefix("./") { name = name.dropFirst(2) }
        switch name {
        case Self.layoutFileName: self = .layoutFile
        case Self.indexFileName: self = .indexFile
        case Self.lockFileName: self = .lockFile
        case Self.lockSignatureName: self = .lockSignature
        case Self.sbomName: self = .sbom
        case "", ".", "./", "blobs", "blobs/", "airgap", "airgap/": self = .directory(String(name))
        default:
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == "blobs", Digest.Algorithm(rawValue: String(parts[1])) != nil {
                self = .directory(String(name))
            } else if parts.count == 3, parts[2].isEmpty, parts[0] == "blobs", Digest.Algorithm(rawValue: String(parts[1])) != nil {
                self = .directory(String(name))
            } else if parts.count == 3, parts[0] == "blobs",
                      let algorithm = Digest.Algorithm(rawValue: String(parts[1])),
                      let digest = try? Digest(algorithm: algorithm, encoded: String(parts[2])) {
                self = .blob(digest)
            } else {
                return nil
            }
        }
    }

    public static func blobName(_ digest: Digest) -> String {
        "blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }
}
