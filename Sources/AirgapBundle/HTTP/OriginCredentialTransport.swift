import Foundation

/// The auth layer of a Maven or Helm repository: one fixed credential (from the environment or
/// netrc, looked up once), sent only to the repository's own origin. A hop elsewhere (a mirror,
/// blob storage) goes without it.
struct OriginCredentialTransport: HTTPTransport {
    var inner: HTTPTransport
    var origin: String
    var authorization: String?

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        var request = request
        request.setHeader("Authorization", request.url.origin == origin ? authorization : nil)
        return try inner.send(request, onHead: onHead, into: sink)
    }
}
