import Foundation
import Manifests
import OCILayout

/// A private key for `pack --sign-key`. Refused, as ssh refuses one, when group or others may
/// read it: a signing key others can read proves nothing.
public struct SigningKey: Sendable {
    public var path: String
    public var key: EVPKey

    public init(path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw KeyError.unreadable(path: path, detail: String(cString: strerror(errno))) }
        let mode = status.st_mode & 0o777
        if mode & 0o077 != 0 { throw KeyError.tooOpen(path: path, mode: String(format: "%04o", mode)) }
        guard let data = FileManager.default.contents(atPath: path) else { throw KeyError.unreadable(path: path, detail: "cannot open it") }
        self.path = path
        self.key = try EVPKey.privateKey(pem: data, source: path)
    }

    public var label: String { "\(path) (\(key.fingerprint.algorithm.rawValue):\(key.fingerprint.short)…)" }
}

/// `airgap/bundle.lock.sig`: cosign `sign-blob`'s format, the base64 of the signature over the
/// exact bytes of `airgap/bundle.lock` (ECDSA: DER over SHA-256), so `cosign verify-blob` and
/// `openssl dgst -sha256 -verify` (after `base64 -d`) accept it. Since verify proves the whole
/// bundle matches that lock, a good signature proves the whole bundle.
public enum BundleSignature {
    public static func sign(_ lockData: Data, with key: SigningKey) throws -> Data {
        Data(try key.key.sign(lockData).base64EncodedString().utf8)
    }

    /// Throws unless the bundle carries a signature over its lock that `key` verifies.
    public static func verify(_ bundle: BundleReader, with key: VerificationKey) throws {
        guard let signature = bundle.snapshot.lockSignature else {
            throw SignatureError.bundleUnsigned(bundle: bundle.path, key: key.label)
        }
        guard let lock = bundle.lockData else {
            throw SignatureError.bundleSignatureInvalid(bundle: bundle.path, key: key.label, detail: "the bundle carries no airgap/bundle.lock to sign")
        }
        let text = String(decoding: signature, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text) else {
            throw SignatureError.bundleSignatureInvalid(bundle: bundle.path, key: key.label, detail: "not base64")
        }
        guard key.key.verify(raw, over: lock) else {
            throw SignatureError.bundleSignatureInvalid(bundle: bundle.path, key: key.label, detail: "signature \(text.prefix(12))… rejected")
        }
    }
}
