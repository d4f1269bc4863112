import Foundation
import Manifests

/// Why an image was not accepted under its verification key, or the bundle's own signature was
/// refused: the image or bundle, the key (by file and fingerprint, never its bytes) and what was
/// found.
public enum SignatureError: Error, CustomStringConvertible {
    case unsigned(image: String, digest: Digest, key: String, tag: String)
    case noValidSignature(image: String, digest: Digest, key: String, tag: String, found: Int)
    case otherDigest(image: String, digest: Digest, key: String, tag: String, signed: String)
    case otherReference(image: String, key: String, tag: String, signed: String)
    case malformed(image: String, tag: String, detail: String)
    case keylessRejected(image: String, digest: Digest, policy: String, tag: String, problem: String)
    case bundleUnsigned(bundle: String, key: String)
    case bundleSignatureInvalid(bundle: String, key: String, detail: String)
    case signaturesSkipped(lock: String, count: Int)

    public var description: String {
        switch self {
        case .unsigned(let image, let digest, let key, let tag):
            return "\(image): no cosign signature for \(digest) upstream (no \(tag)), but \(key) is required to verify it; sign the image (`cosign sign --key`) or drop verify.key"
        case .noValidSignature(let image, let digest, let key, let tag, let found):
            return "\(image): none of the \(found) cosign signature(s) in \(tag) verifies with \(key); the image \(digest.short) was signed with another key or the signature was altered"
        case .otherDigest(let image, let digest, let key, let tag, let signed):
            return "\(image): the signature in \(tag) verifies with \(key) but signs \(signed), not \(digest) being bundled; it was copied from another image"
        case .otherReference(let image, let key, let tag, let signed):
            return "\(image): the signature in \(tag) verifies with \(key) but names \(signed) as its docker-reference; it was made for another repository"
        case .keylessRejected(let image, let digest, let policy, let tag, let problem):
            return "\(image): the signature in \(tag) over \(digest.short) does not satisfy \(policy): \(problem)"
        case .malformed(let image, let tag, let detail):
            return "\(image): \(tag) is not a cosign signature (\(detail))"
        case .bundleUnsigned(let bundle, let key):
            return "\(bundle): airgap/bundle.lock.sig is missing, but --key \(key) requires a signed bundle; pack it with `airgap pack --sign-key KEY.pem`"
        case .bundleSignatureInvalid(let bundle, let key, let detail):
            return "\(bundle): airgap/bundle.lock.sig does not verify with \(key) (\(detail)); the lock was altered or signed with another key, do not use this bundle"
        case .signaturesSkipped(let lock, let count):
            return "\(lock) pins \(count) signature artifact(s), but --no-signatures skips them; run `airgap lock --no-signatures` or drop the flag"
        }
    }
}
