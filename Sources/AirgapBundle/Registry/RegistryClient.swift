import Foundation

/// Talks the distribution protocol to one registry endpoint, through the layers
/// `TransportStack.registry` assembles (redirects, auth, retries, limits). What a status code
/// means for a registry is decided here; how to get a request there is not. Safe to share
/// between threads.
public final class RegistryClient: @unchecked Sendable {
    public let endpoint: RegistryEndpoint
    public let stack: TransportStack
    let transport: HTTPTransport
    /// Manifests fetched by digest this run, by `repository@digest`.
    let fetched = OnceMap<String, FetchedManifest>()

    public init(endpoint: RegistryEndpoint, stack: TransportStack, credentials: CredentialStore) {
        self.endpoint = endpoint
        self.stack = stack
        self.transport = stack.assemble { inner, tokenService in
            RegistryAuthTransport(endpoint: endpoint, credentials: credentials, inner: inner, tokenTransport: tokenService)
        }
    }

    public var retry: RetryPolicy { stack.retry }

    /// Sends `request` with the scope `repository`/`actions` need. 401 and 403 are thrown as
    /// `RegistryError`s, and so is a 429/5xx the retry layer gave up on; other statuses are
    /// returned for the caller to judge.
    public func send(
        _ request: HTTPRequest, repository: String, actions: String = "pull", alsoPulling source: String? = nil,
        onHead: HeadHandler = { _ in }, into sink: BodySink = { _ in }
    ) throws -> HTTPResponse {
        var scoped = request
        // A cross-repository mount needs pull on the source too: both scopes in one token.
        scoped.scopes = ["repository:\(repository):\(actions)"] + (source.map { ["repository:\($0):pull"] } ?? [])
        let response = try transport.send(scoped, onHead: onHead, into: sink)
        if response.status == 403 {
            throw RegistryError.accessDenied(registry: endpoint.name, repository: repository, detail: ErrorBody.detail(response.errorBody),
                                             pushing: actions.contains("push"))
        }
        if RetryPolicy.isRetryable(status: response.status) {
            throw RegistryError.unexpectedStatus(url: request.url, status: response.status, detail: ErrorBody.detail(response.errorBody),
                                                 retryAfter: response.retryAfter)
        }
        return response
    }

    func retryNotice(_ url: URL) -> (Error, Double) -> Void { stack.retryNotice(url) }
}
