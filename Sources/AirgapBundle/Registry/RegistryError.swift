import Foundation

/// What went wrong talking to a registry, phrased for the operator: what, where, and the fix.
public enum RegistryError: Error, CustomStringConvertible {
    case authenticationRequired(registry: String, repository: String)
    case credentialsRejected(registry: String, source: String)
    /// 403: the credentials are fine but the account lacks the permission `pushing` says.
    case accessDenied(registry: String, repository: String, detail: String, pushing: Bool)
    case manifestUnknown(reference: String)
    case blobUnknown(repository: String, digest: String)
    case unexpectedStatus(url: URL, status: Int, detail: String, retryAfter: Double?)
    case notARegistry(url: URL, status: Int)
    case digestMismatch(what: String, expected: String, actual: String)
    case badTokenResponse(realm: String, detail: String)
    case insecureRealm(registry: String, realm: String)
    case credentialsWithheld(registry: String, realm: String)

    public var description: String {
        switch self {
        case .authenticationRequired(let registry, let repository):
            return "\(registry)/\(repository): the registry requires credentials and none were found for \(registry); log in (`skopeo login \(registry)`, `podman login` or `docker login`) or pass --authfile FILE"
        case .credentialsRejected(let registry, let source):
            return "\(registry): the credentials from \(source) were rejected; log in again or fix that entry"
        case .accessDenied(let registry, let repository, let detail, let pushing):
            return "\(registry)/\(repository): access denied\(detail.isEmpty ? "" : " (\(detail))"); "
                + (pushing ? "the account may not push there: grant it push rights on \(repository) (OpenShift: `oc policy add-role-to-user registry-editor USER -n PROJECT`) or choose a --prefix it may write to"
                           : "check the repository name and that your account may pull it")
        case .manifestUnknown(let reference):
            return "\(reference): not found in the registry; check the tag or digest"
        case .blobUnknown(let repository, let digest):
            return "\(repository): blob \(digest) is missing from the registry although a manifest names it; the upstream image is broken"
        case .unexpectedStatus(let url, let status, let detail, _):
            return "\(url.redactedString): HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))")"
        case .notARegistry(let url, let status):
            return "\(url.redactedString): HTTP \(status) to GET /v2/; this is not an OCI registry endpoint"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what): the registry sent content hashing to \(actual), expected \(expected); refusing it"
        case .badTokenResponse(let realm, let detail):
            return "\(realm): the token service's answer has no usable token (\(detail))"
        case .insecureRealm(let registry, let realm):
            return "\(registry): the registry sends us for a token to \(realm), plain HTTP, although it speaks HTTPS; refusing to authenticate there (a plain-HTTP realm is accepted only for a registry named with --insecure-registry/--plain-http)"
        case .credentialsWithheld(let registry, let realm):
            return "\(registry): the token service \(realm) is plain HTTP on another host, so the credentials were not sent there and it refused us; serve the realm over HTTPS"
        }
    }

    /// A refusal of who we are or where we authenticate, whatever the request was.
    var isAboutAccess: Bool {
        switch self {
        case .authenticationRequired, .credentialsRejected, .accessDenied, .insecureRealm, .credentialsWithheld, .badTokenResponse: return true
        default: return false
        }
    }

    /// The `errors[].code`/`message` of a distribution-spec error body, for messages.
    static func detail(fromBody body: Data) -> String { ErrorBody.detail(body) }
}
