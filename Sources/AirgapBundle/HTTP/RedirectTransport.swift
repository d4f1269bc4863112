import Foundation

/// Where a server may send a client next — by a 3xx redirect, or by the `Location` of an
/// upload session — and what travels with it. The one rule for both:
/// - HTTPS never continues over HTTP (a downgrade would expose what follows);
/// - `Authorization` goes only to the origin (scheme, host, port) it was meant for: blob
///   storage, a CDN or a hostile server get the signed URL and nothing else. The auth layers
///   attach credentials per origin too, so a hop to another host carries none.
public enum RedirectRule {
    public static let maximumHops = 10

    /// The URL `location` names, resolved against `current`; refused if it downgrades.
    public static func next(from current: URL, location: String) throws -> URL {
        guard let next = URL(string: location, relativeTo: current)?.absoluteURL,
              let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https", next.host != nil
        else { throw TransportError.connection(url: current, message: "the server sent to an unusable Location", retryable: false) }
        if current.scheme?.lowercased() == "https", scheme != "https" {
            throw TransportError.insecureRedirect(from: current, to: next.redactedString)
        }
        return next
    }

    /// `request` moved to `url`: credentials dropped unless the origin is the same.
    public static func moved(_ request: HTTPRequest, to url: URL) -> HTTPRequest {
        var moved = request
        if url.origin != request.url.origin { moved.setHeader("Authorization", nil) }
        moved.url = url
        return moved
    }
}

/// The redirect layer: follows up to `RedirectRule.maximumHops` redirects for the layers below,
/// which follow none. Each hop passes through the auth, retry and limit layers again.
struct RedirectTransport: HTTPTransport {
    var inner: HTTPTransport

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        var current = request
        for _ in 0..<RedirectRule.maximumHops {
            let response = try inner.send(current, onHead: onHead, into: sink)
            guard response.isRedirect, let location = response.header("location") else { return response }
            current = RedirectRule.moved(current, to: try RedirectRule.next(from: current.url, location: location))
            if response.status == 303 { current.method = "GET"; current.body = nil; current.retry = .byTransport }
        }
        throw TransportError.tooManyRedirects(url: request.url)
    }
}
