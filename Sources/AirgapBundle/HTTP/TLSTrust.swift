import Foundation

/// Which certificate authorities a TLS connection to a host trusts: the system's, plus
/// `--ca-file`, plus the containers convention `certs.d/HOST[:PORT]/*.crt`, the same places
/// podman, skopeo and docker look.
public struct TLSTrust: Sendable {
    public static let defaultCertsRoots = [
        "/etc/containers/certs.d",
        NSString(string: "~/.config/containers/certs.d").expandingTildeInPath,
        "/etc/docker/certs.d",
    ]
    static let systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    public var caFiles: [String]
    public var certsRoots: [String]
    /// TLS without checking the certificate (`--insecure`): only when the operator asks.
    public var skipVerification: Bool

    public init(caFiles: [String] = [], certsRoots: [String] = TLSTrust.defaultCertsRoots, skipVerification: Bool = false) {
        self.caFiles = caFiles
        self.certsRoots = certsRoots
        self.skipVerification = skipVerification
    }

    /// The extra CA certificate files that apply to `hostAndPort`, in a stable order.
    public func extraCAFiles(for hostAndPort: String) -> [String] {
        var files = caFiles
        for root in certsRoots {
            let directory = "\(root)/\(hostAndPort)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            files += names.filter { $0.hasSuffix(".crt") }.sorted().map { "\(directory)/\($0)" }
        }
        return files
    }

    /// A client certificate for the host, as containers tools find it: `certs.d/HOST/NAME.cert`
    /// with `NAME.key` beside it (the first pair by name).
    public func clientCertificate(for hostAndPort: String) -> (certificate: String, key: String)? {
        for root in certsRoots {
            let directory = "\(root)/\(hostAndPort)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.filter({ $0.hasSuffix(".cert") }).sorted() {
                let key = String(name.dropLast(".cert".count)) + ".key"
                if names.contains(key) { return ("\(directory)/\(name)", "\(directory)/\(key)") }
            }
        }
        return nil
    }

    /// A PEM bundle of the system CAs plus the extra ones for the host, or nil when there are no
    /// extra ones (then libcurl's own default applies). Unreadable files are an error naming them.
    public func pemBundle(for hostAndPort: String) throws -> Data? {
        let extra = extraCAFiles(for: hostAndPort)
        guard !extra.isEmpty else { return nil }
        var bundle = Data()
        if let system = Self.systemBundles.lazy.compactMap({ FileManager.default.contents(atPath: $0) }).first {
            bundle.append(system)
            bundle.append(0x0A)
        }
        for file in extra {
            guard let pem = FileManager.default.contents(atPath: file) else {
                throw TransportError.tls(url: URL(string: "https://\(hostAndPort)/")!, message: "cannot read CA file \(file)")
            }
            bundle.append(pem)
            bundle.append(0x0A)
        }
        return bundle
    }
}
