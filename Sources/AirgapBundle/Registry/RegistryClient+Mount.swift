import Foundation
import Manifests

extension RegistryClient {
    /// Mounts a blob from another repository of the same registry, with no bytes to fall back
    /// on: true when the registry mounted it (201). When it opens an upload session instead
    /// (202: it will not mount, e.g. the source repository is out of the token's reach), that
    /// session is cancelled, so nothing half-made is left, and the answer is false.
    public func mountBlob(_ digest: Digest, repository: String, from source: String) throws -> Bool {
        let base = endpoint.url("/v2/\(repository)/blobs/uploads/")
        var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: source)]
        let url = components.url!
        let opened = try send(HTTPRequest(method: "POST", url: url), repository: repository, actions: "pull,push", alsoPulling: source)
        if opened.status == 201 { return true }
        guard opened.status == 202 else {
            throw RegistryError.unexpectedStatus(url: url, status: opened.status, detail: RegistryError.detail(fromBody: opened.errorBody),
                                                 retryAfter: nil)
        }
        if let location = opened.header("location"), let session = try? RedirectRule.next(from: url, location: location) {
            _ = try? send(HTTPRequest(method: "DELETE", url: session), repository: repository, actions: "pull,push")
        }
        return false
    }
}
