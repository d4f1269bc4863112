import Foundation
import Manifests

extension RegistryClient {
    /// `GET /v2/<name>/referrers/<digest>` (OCI distribution 1.1): the index the registry keeps
    /// of manifests whose `subject` is `digest`, or nil when the registry has no referrers API
    /// (it answers 404, as Debian's distribution 2.8 does; callers then read the fallback tag).
    public func referrers(repository: String, subject: Digest) throws -> ImageIndex? {
        let url = endpoint.url("/v2/\(repository)/referrers/\(subject)")
        let request = HTTPRequest(url: url, headers: [("Accept", MediaType.ociIndex)])
        let body = BodyCollector(url: url, limit: TransferLimits.manifestLimit, what: "referrers index")
        let response = try send(request, repository: repository, onHead: body.reset, into: body.append)
        guard response.isSuccess else { return nil }
        let contentType = response.header("content-type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard contentType == MediaType.ociIndex, case .index(let index) = try ManifestDocument(decoding: body.data, mediaType: MediaType.ociIndex)
        else { return nil }
        return index
    }
}
