import Foundation

/// `--debug`: one line per exchange on the wire — method, URL without user info or secret query
/// values, status, bytes each way, time — so an operator can see what a misbehaving registry was
/// asked and what it answered. It sits directly above libcurl, below retry and auth: every
/// attempt is a line of its own, and it never sees anything it could leak but the request line
/// (headers, bodies and tokens are never printed).
struct TraceTransport: HTTPTransport {
    var inner: HTTPTransport
    var trace: @Sendable (String) -> Void

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        let started = Date()
        final class Counter: @unchecked Sendable { var bytes: Int64 = 0 }
        let received = Counter()
        let sent = request.body?.length ?? 0
        let line = "\(request.method) \(request.url.debugString)"
        do {
            let response = try inner.send(request, onHead: onHead, into: { chunk in
                received.bytes += Int64(chunk.count)
                try sink(chunk)
            })
            let bytesIn = response.isSuccess ? received.bytes : Int64(response.errorBody.count)
            trace("\(line) -> \(response.status) (\(Self.bytes(out: sent, in: bytesIn)), \(Self.milliseconds(since: started)))")
            return response
        } catch {
            trace("\(line) -> failed after \(Self.milliseconds(since: started)) (\(Self.bytes(out: sent, in: received.bytes))): \((error as? TransportError)?.reason ?? "\(error)")")
            throw error
        }
    }

    static func bytes(out: Int64, in received: Int64) -> String { "sent \(out) B, received \(received) B" }

    static func milliseconds(since start: Date) -> String { "\(Int((Date().timeIntervalSince(start) * 1000).rounded())) ms" }
}

extension URL {
    /// Query parameters whose values say what a request is about and carry no secret: upload
    /// digests, mount sources, token scopes, list paging. Every other value (`_state`, signed
    /// storage URLs' `X-Amz-Signature`, `token`, `access_token`) is replaced by `…`.
    static let traceableQueryNames: Set<String> = ["digest", "mount", "from", "scope", "service", "n", "last", "ns"]

    /// The URL as `--debug` prints it: no user info, and only harmless query values.
    public var debugString: String {
        guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return "<url>" }
        components.user = nil
        components.password = nil
        if let items = components.queryItems {
            components.queryItems = items.map { item in
                Self.traceableQueryNames.contains(item.name.lowercased()) ? item : URLQueryItem(name: item.name, value: item.value == nil ? nil : "…")
            }
        }
        return components.string ?? "<url>"
    }
}
