import Foundation

/// The transport layers, assembled here and nowhere else. From the top:
///
///     redirect  →  auth  →  retry  →  [trace]  →  libcurl (deadline, low-speed limit, error-body cap)
///
/// - `RedirectTransport` follows 3xx hops under `RedirectRule` (no HTTPS→HTTP, credentials
///   only to their own origin); upload `Location`s go through the same rule.
/// - the auth layer is `RegistryAuthTransport` for a registry (ping, challenges, tokens per
///   scope, one credential lookup; `RegistryClient` passes it to `assemble`) or
///   `OriginCredentialTransport` for a Maven or Helm repository (one fixed credential, its own
///   origin only); token services get none.
/// - `RetryTransport` decides nothing itself: `RetryPolicy` says what is worth another try.
/// - `TraceTransport` (`--debug` only) prints each attempt as it goes on the wire, below retry
///   and auth so every retry and every token round trip is a line, and nothing but the request
///   line is ever printed.
/// - `CurlTransport` enforces `TransferLimits`; bodies kept in memory are capped by
///   `BodyCollector`, downloads by `ResumableDownload`.
public struct TransportStack: Sendable {
    public let bottom: HTTPTransport
    public let limits: TransferLimits
    public let retry: RetryPolicy
    public let onRetry: @Sendable (String) -> Void
    /// Where `--debug` lines go; nil when nobody asked for them.
    public let trace: (@Sendable (String) -> Void)?

    public init(trust: TLSTrust = TLSTrust(), limits: TransferLimits = TransferLimits(), retry: RetryPolicy = RetryPolicy(),
                onRetry: @escaping @Sendable (String) -> Void = { _ in }, trace: (@Sendable (String) -> Void)? = nil) {
        self.init(bottom: CurlTransport(trust: trust, limits: limits), limits: limits, retry: retry, onRetry: onRetry, trace: trace)
    }

    /// Over another bottom transport (a test's).
    public init(bottom: HTTPTransport, limits: TransferLimits = TransferLimits(), retry: RetryPolicy = RetryPolicy(),
                onRetry: @escaping @Sendable (String) -> Void = { _ in }, trace: (@Sendable (String) -> Void)? = nil) {
        self.bottom = trace.map { TraceTransport(inner: bottom, trace: $0) } ?? bottom
        self.limits = limits
        self.retry = retry
        self.onRetry = onRetry
        self.trace = trace
    }

    var retrying: HTTPTransport { RetryTransport(inner: bottom, policy: retry, limits: limits, onRetry: onRetry, trace: trace) }

    /// For servers that get no credentials at all (token services get theirs per request from
    /// the registry's auth layer, and lose them on a hop to another origin).
    var anonymous: HTTPTransport { RedirectTransport(inner: retrying) }

    /// The one order of the layers: redirect → auth → retry → libcurl. `auth` builds the auth
    /// layer over the retry layer; token services are reached through `anonymous`.
    func assemble(auth: (_ inner: HTTPTransport, _ tokenService: HTTPTransport) -> HTTPTransport) -> HTTPTransport {
        RedirectTransport(inner: auth(retrying, anonymous))
    }

    /// A Maven or Helm repository at `origin`, with its credential (if any).
    func repository(origin: URL, credential: RepositoryCredential?) -> HTTPTransport {
        assemble { inner, _ in OriginCredentialTransport(inner: inner, origin: origin.origin, authorization: credential?.authorization) }
    }

    /// A notice for the operator's log when a caller-run retry loop tries again.
    func retryNotice(_ url: URL) -> (Error, Double) -> Void {
        { [onRetry] error, delay in onRetry(RetryTransport.notice(url, delay: delay, error: error)) }
    }
}
