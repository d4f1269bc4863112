import Foundation
import OCILayout

/// A request as the transport layers see it. The body is either bytes in memory (manifests,
/// tokens) or a region of an open file (blobs), so uploads stream like downloads do.
public struct HTTPRequest: Sendable {
    public enum Body: @unchecked Sendable {
        case data(Data)
        case file(FileDescriptor, offset: Int64, length: Int64)

        var length: Int64 {
            switch self {
            case .data(let data): return Int64(data.count)
            case .file(_, _, let length): return length
            }
        }
    }

    public var method: String
    public var url: URL
    public var headers: [(name: String, value: String)]
    public var body: Body?

    public init(method: String = "GET", url: URL, headers: [(name: String, value: String)] = [], body: Body? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public mutating func setHeader(_ name: String, _ value: String?) {
        headers.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        if let value { headers.append((name, value)) }
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased; repeated headers keep every value in order.
    public var headers: [String: [String]]
    /// The body of a non-2xx response (up to 64 KiB), where registries put their error codes.
    public var errorBody = Data()

    public init(status: Int, headers: [String: [String]]) {
        self.status = status
        self.headers = headers
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()]?.first }
    public func headerValues(_ name: String) -> [String] { headers[name.lowercased()] ?? [] }

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }
}

/// Where a response body goes: called with each chunk as it arrives.
public typealias BodySink = (UnsafeRawBufferPointer) throws -> Void

/// Called once a 2xx response's headers are in, before its first body byte reaches the sink:
/// the place to check `Content-Range` or reset a resumed download.
public typealias HeadHandler = (HTTPResponse) throws -> Void

/// Sends one HTTP exchange. Layers (auth, retry, redirects) wrap a transport; the bottom one is
/// libcurl. The sink sees only the body of a 2xx response; a sink or head handler that throws
/// aborts the transfer and its error is rethrown.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse
}

extension HTTPTransport {
    public func send(_ request: HTTPRequest, into sink: BodySink) throws -> HTTPResponse {
        try send(request, onHead: { _ in }, into: sink)
    }
}

/// A body kept in memory (a manifest, a token, a checksum file), refused past `limit` bytes:
/// a server sending more is not sending what was asked for.
final class BodyCollector {
    private(set) var data = Data()
    let url: URL
    let limit: Int

    init(url: URL, limit: Int) {
        self.url = url
        self.limit = limit
    }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        guard data.count + chunk.count <= limit else { throw TransportError.responseTooLarge(url: url, limit: limit) }
        data.append(contentsOf: chunk)
    }
}

extension HTTPResponse {
    /// 429 and 5xx are worth another try: thrown as the error `RetryPolicy` acts on.
    func throwIfRetryable(_ url: URL) throws {
        if status == 429 || (500...599).contains(status) {
            throw RegistryError.unexpectedStatus(url: url, status: status, detail: RegistryError.detail(fromBody: errorBody),
                                                 retryAfter: header("retry-after").flatMap(Double.init))
        }
    }
}

/// Failures below HTTP: connection, TLS, timeouts, and bodies too large to be documents.
public enum TransportError: Error, CustomStringConvertible {
    case connection(url: URL, message: String, retryable: Bool)
    case tls(url: URL, message: String)
    case responseTooLarge(url: URL, limit: Int)
    case tooManyRedirects(url: URL)

    public var retryable: Bool {
        if case .connection(_, _, let retryable) = self { return retryable }
        return false
    }

    public var description: String {
        switch self {
        case .connection(let url, let message, _):
            return "\(url.redactedString): \(message)"
        case .tls(let url, let message):
            let host = url.hostAndPort
            return "\(url.redactedString): TLS failed (\(message)); trust the registry's CA with --ca-file FILE or /etc/containers/certs.d/\(host)/ca.crt, or, if it speaks plain HTTP, name it with --insecure-registry \(host)"
        case .responseTooLarge(let url, let limit):
            return "\(url.redactedString): response larger than \(limit) bytes; this is not a manifest or token"
        case .tooManyRedirects(let url):
            return "\(url.redactedString): more than 10 redirects"
        }
    }
}

extension URL {
    /// `host[:port]`, the key containers tools use for certs.d and auth files.
    public var hostAndPort: String {
        guard let host else { return "" }
        return port.map { "\(host):\($0)" } ?? host
    }

    /// The URL without query and user info: signed blob-storage URLs carry credentials in the query.
    public var redactedString: String {
        guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return "<url>" }
        components.user = nil
        components.password = nil
        if components.query != nil { components.query = "…" }
        return components.string ?? "<url>"
    }
}
