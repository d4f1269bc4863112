/// Errors in reading OCI and Docker documents. Each message names the offending value.
public enum ManifestError: Error, Equatable, CustomStringConvertible {
    case invalidDigest(String)
    case invalidReference(String, reason: String)
    case invalidPlatform(String)
    case unsupportedMediaType(String)
    case malformedDocument(String)
    /// A lockfile that is not JSON or not the lock's shape: where (`FILE:LINE:COLUMN`) and what.
    case malformedLock(location: String, detail: String)
    case nestedTooDeep(String, limit: Int)

    public var description: String {
        switch self {
        case .invalidDigest(let text):
            return "invalid digest \"\(text)\": expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
        case .invalidReference(let text, let reason):
            return "invalid image reference \"\(text)\": \(reason)"
        case .invalidPlatform(let text):
            return "invalid platform \"\(text)\": expected os/architecture[/variant], e.g. linux/arm64"
        case .unsupportedMediaType(let type):
            return "unsupported media type \"\(type)\""
        case .malformedDocument(let reason):
            return "malformed manifest: \(reason)"
        case .malformedLock(let location, let detail):
            return "\(location): not an airgap lockfile (\(detail)); write it again with `airgap lock`"
        case .nestedTooDeep(let digest, let limit):
            return "\(digest): image indexes nested more than \(limit) deep; no real image needs that, refusing it"
        }
    }
}
