import Foundation
import Manifests

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
    /// `--cert-dir`, as skopeo reads it: the folder's own `*.crt` (and `NAME.cert`/`NAME.key`)
    /// apply to every host; a `HOST[:PORT]/` folder inside it (the certs.d layout) to that host.
    public var certDirectories: [String]
    /// TLS without checking the certificate (`--tls-verify=false`): only when the operator asks.
    public var skipVerification: Bool

    public init(caFiles: [String] = [], certsRoots: [String] = TLSTrust.defaultCertsRoots, certDirectories: [String] = [],
                skipVerification: Bool = false) {
        self.caFiles = caFiles
        self.certsRoots = certsRoots
        self.certDirectories = certDirectories
        self.skipVerification = skipVerification
    }

    /// The folders that may hold certificates for `hostAndPort`, most general first.
    private func folders(for hostAndPort: String) -> [String] {
        certDirectories.flatMap { [$0, "\($0)/\(hostAndPort)"] } + certsRoots.map { "\($0)/\(hostAndPort)" }
    }

    /// The extra CA certificate files that apply to `hostAndPort`, in a stable order.
    public func extraCAFiles(for hostAndPort: String) -> [String] {
        var files = caFiles
        for directory in folders(for: hostAndPort) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            files += names.filter { $0.hasSuffix(".crt") }.sorted().map { "\(directory)/\($0)" }
        }
        return files
    }

    /// Refuses, before any request, what the operator named and cannot be used: a `--ca-file`
    /// that is missing, unreadable or holds no PEM certificate, a `--cert-dir` that is not a
    /// folder. Silently ignoring one would surface later as a TLS error pointing elsewhere.
    public func checkNamedFiles() throws {
        for file in caFiles {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { throw TrustInputError.missing(option: "--ca-file", path: file) }
            guard !isDirectory.boolValue, let pem = FileManager.default.contents(atPath: file) else {
                throw TrustInputError.unreadable(option: "--ca-file", path: file)
            }
            guard !X509Certificate.all(pem: pem).isEmpty else { throw TrustInputError.notPEM(path: file) }
        }
        for directory in certDirectories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { throw TrustInputError.missing(option: "--cert-dir", path: directory) }
            guard isDirectory.boolValue else { throw TrustInputError.notADirectory(path: directory) }
        }
    }

    /// A client certificate for the host, as containers tools find it: `certs.d/HOST/NAME.cert`
    /// with `NAME.key` beside it (the first pair by name).
    public func clientCertificate(for hostAndPort: String) -> (certificate: String, key: String)? {
        for directory in folders(for: hostAndPort) {
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

/// A trust input the operator named that cannot be used.
public enum TrustInputError: Error, CustomStringConvertible {
    case missing(option: String, path: String)
    case unreadable(option: String, path: String)
    case notPEM(path: String)
    case notADirectory(path: String)

    public var description: String {
        switch self {
        case .missing(let option, let path):
            return "\(option) \(path): no such file or folder; check the path"
        case .unreadable(let option, let path):
            return "\(option) \(path): cannot be read; check that it is a file and its permissions"
        case .notPEM(let path):
            return "--ca-file \(path): holds no PEM certificate (-----BEGIN CERTIFICATE-----); convert a DER file with `openssl x509 -inform der -in \(path) -out ca.crt`"
        case .notADirectory(let path):
            return "--cert-dir \(path): not a folder; name the folder that holds ca.crt (or use --ca-file for one file)"
        }
    }
}
