import Foundation

/// Follows up to 10 redirects for a transport that follows none. `Authorization` goes only to
/// the host it was meant for: blob storage (S3, a CDN) and other mirrors get a signed URL and
/// must not see the registry's or repository's credentials. HTTPS never redirects to HTTP.
struct RedirectFollower {
    var transport: HTTPTransport

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        var current = request
        for _ in 0..<10 {
            let response = try transport.send(current, onHead: onHead, into: sink)
            guard response.isRedirect, let location = response.header("location") else { return response }
            guard let next = URL(string: location, relativeTo: current.url)?.absoluteURL else { return response }
            if current.url.scheme == "https", next.scheme != "https" {
                throw RegistryError.insecureRedirect(from: current.url, to: next.redactedString)
            }
            if next.hostAndPort != current.url.hostAndPort || next.scheme != current.url.scheme {
                current.setHeader("Authorization", nil)
            }
            if response.status == 303 { current.method = "GET"; current.body = nil }
            current.url = next
        }
        throw TransportError.tooManyRedirects(url: request.url)
    }
}
