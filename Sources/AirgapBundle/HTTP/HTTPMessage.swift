import Foundation
import OCILayout

/// A request as the transport layers see it. The body is either bytes in memory (manifests,
/// tokens) or a region of an open file (blobs), so uploads stream like downloads do.
public struct HTTPRequest: Sendable {
    public enum Body: @unchecked Sendable {
        case data(Data)
        case file(PartedFile, offset: Int64, length: Int64)

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
    /// Token scopes the request needs (`repository:NAME:pull`); read by the registry's auth layer.
    public var scopes: [String] = []
    /// Who sends the request again after a failure worth retrying: the retry layer, or the caller
    /// (an upload whose body the registry may have partly kept, a download that resumes with `Range`).
    public var retry: RetryMode
    /// When the whole transfer (every attempt) must be done; set by the retry layer from
    /// `--timeout` when the caller has not set it.
    public var deadline: Date?
    /// Hears how far into the body this attempt has read, as it goes out (0 when an attempt
    /// starts, so a resend is seen as one): upload progress within a large PUT or PATCH.
    public var bodyPosition: (@Sendable (Int64) -> Void)?

    public enum RetryMode: Sendable { case byTransport, byCaller }

    public init(method: String = "GET", url: URL, headers: [(name: String, value: String)] = [], body: Body? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        if case .file = body { retry = .byCaller } else { retry = .byTransport }
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
    /// The start of a non-2xx response's body (see `TransferLimits.errorBodyLimit`), where
    /// registries put their error codes; the rest is never read.
    public var errorBody = Data()

    public init(status: Int, headers: [String: [String]]) {
        self.status = status
        self.headers = headers
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()]?.first }
    public func headerValues(_ name: String) -> [String] { headers[name.lowercased()] ?? [] }

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }
    public var contentLength: Int64? { header("content-length").flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) } }
    public var retryAfter: Double? { header("retry-after").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
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
/// a server sending more is not sending what was asked for. `reset` starts it over, so a
/// request the retry layer sends again collects only the last answer.
final class BodyCollector {
    private(set) var data = Data()
    let url: URL
    let limit: Int
    let what: String

    init(url: URL, limit: Int, what: String = "document") {
        self.url = url
        self.limit = limit
        self.what = what
    }

    func reset(_ head: HTTPResponse) throws {
        if let length = head.contentLength, length > Int64(limit) {
            throw TransportError.bodyTooLarge(url: url, limit: Int64(limit), what: what)
        }
        data.removeAll(keepingCapacity: true)
    }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        guard data.count + chunk.count <= limit else { throw TransportError.bodyTooLarge(url: url, limit: Int64(limit), what: what) }
        data.append(contentsOf: chunk)
    }
}

extension HTTPTransport {
    /// Sends and keeps a 2xx body in memory, up to `limit` bytes.
    func collect(_ request: HTTPRequest, limit: Int, what: String = "document") throws -> (HTTPResponse, Data) {
        let body = BodyCollector(url: request.url, limit: limit, what: what)
        let response = try send(request, onHead: body.reset, into: body.append)
        return (response, body.data)
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

extension URL {
    /// Whether the URL carries a user name or password (`https://user:pass@host/`).
    public var hasUserInfo: Bool {
        guard let components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return false }
        return components.user != nil || components.password != nil
    }

    /// The URL as it may be recorded (lock, bundle, JSON): user info removed, the rest kept.
    public var withoutUserInfo: URL {
        guard hasUserInfo, var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return self }
        components.user = nil
        components.password = nil
        return components.url ?? self
    }

    /// Scheme, host and port: what decides whether credentials meant for one server may go to another.
    public var origin: String { "\(scheme?.lowercased() ?? "")://\(host?.lowercased() ?? "")\(port.map { ":\($0)" } ?? "")" }
}
