import Foundation

/// Failures of the transport itself, whatever the server is (registry, Maven or Helm
/// repository, token service): connection, TLS, limits, redirects. What a status code means is
/// the domain's business (`RegistryError`, `MavenError`, `ChartError`).
public enum TransportError: Error, CustomStringConvertible {
    case connection(url: URL, message: String, retryable: Bool)
    case tls(url: URL, message: String)
    /// Fewer than the low-speed limit's bytes per second for its whole window: a dead or
    /// trickling peer. Worth one more try, not five.
    case stalled(url: URL, bytesPerSecond: Int, seconds: Int)
    /// The transfer, all attempts together, did not finish within `--timeout`.
    case deadlineExceeded(url: URL, seconds: Double)
    case bodyTooLarge(url: URL, limit: Int64, what: String)
    case tooManyRedirects(url: URL)
    case insecureRedirect(from: URL, to: String)
    /// 429 or 5xx, thrown only to a caller that runs its own retry loop.
    case retryableStatus(url: URL, status: Int, detail: String, retryAfter: Double?)
    /// A `206` whose `Content-Range` does not continue where the download stood.
    case unexpectedRange(url: URL, detail: String)
    /// The last failure, once every attempt the retry policy allows was used.
    indirect case gaveUp(attempts: Int, last: TransportError)

    /// Whether `RetryPolicy` may try again (the only place that asks).
    public var retryable: Bool {
        switch self {
        case .connection(_, _, let retryable): return retryable
        case .stalled, .retryableStatus: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .connection(let url, let message, _):
            return "\(url.redactedString): \(message); \(Self.connectionFix(url, message))"
        case .tls(let url, let message):
            let host = url.hostAndPort
            return "\(url.redactedString): TLS failed (\(message)); trust the server's CA with --ca-file FILE, --cert-dir DIR or /etc/containers/certs.d/\(host)/ca.crt; if it speaks plain HTTP: --insecure-registry \(host) (or --plain-http) for a registry, an http:// URL for a Maven or Helm repository"
        case .stalled(let url, let rate, let seconds):
            return "\(url.redactedString): less than \(rate) bytes/s for \(seconds)s; the server stalled"
        case .deadlineExceeded(let url, let seconds):
            return "\(url.redactedString): not finished within \(Self.format(seconds)); raise --timeout SECONDS for a slow link"
        case .bodyTooLarge(let url, let limit, let what):
            return "\(url.redactedString): the server sent more than \(limit) bytes for a \(what); refusing the rest"
        case .tooManyRedirects(let url):
            return "\(url.redactedString): more than \(RedirectRule.maximumHops) redirects"
        case .insecureRedirect(let from, let location):
            return "\(from.redactedString): sent to \(location), which drops from HTTPS to HTTP; refusing"
        case .retryableStatus(let url, let status, let detail, _):
            return "\(url.redactedString): HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))")"
        case .unexpectedRange(let url, let detail):
            return "\(url.redactedString): \(detail)"
        case .gaveUp(let attempts, let last):
            return "\(last) (gave up after \(attempts) attempts; --retry-times sets how many)"
        }
    }

    /// What to do about a connection that failed, from libcurl's words for it.
    static func connectionFix(_ url: URL, _ message: String) -> String {
        let host = url.host ?? url.hostAndPort
        if message.contains("resolve host") || message.contains("resolve proxy") {
            return "\(host) has no address here (DNS, /etc/hosts); check the name, or reach it through a mirror (mirrors: in the spec, --mirror)"
        }
        if message.contains("Couldn't connect") || message.contains("Failed to connect") || message.contains("refused") {
            return "nothing answers at \(url.hostAndPort); check that the server runs and the host and port are right"
        }
        return "check the network path to \(url.hostAndPort)"
    }

    /// What happened, without the URL and without the fix: for retry notices, which repeat.
    public var brief: String {
        switch self {
        case .connection(_, let message, _): return message
        case .tls(_, let message): return "TLS failed (\(message))"
        case .retryableStatus(_, let status, let detail, _): return "HTTP \(status)\(detail.isEmpty ? "" : " (\(detail))")"
        case .gaveUp(_, let last): return last.brief
        default: return reason
        }
    }

    /// The description without the URL in front: for lines that already name it.
    public var reason: String {
        let text = description
        for prefix in [failedURL?.redactedString].compactMap({ $0 }) where text.hasPrefix(prefix + ": ") {
            return String(text.dropFirst(prefix.count + 2))
        }
        return text
    }

    /// The URL the failure happened at.
    public var failedURL: URL? {
        switch self {
        case .connection(let url, _, _), .tls(let url, _), .stalled(let url, _, _), .deadlineExceeded(let url, _),
             .bodyTooLarge(let url, _, _), .tooManyRedirects(let url), .retryableStatus(let url, _, _, _), .unexpectedRange(let url, _):
            return url
        case .insecureRedirect(let from, _): return from
        case .gaveUp(_, let last): return last.failedURL
        }
    }

    /// Whether the server was never reached or never answered: where the spec entry or mirror
    /// that led there is worth naming.
    public var isUnreachable: Bool {
        switch self {
        case .connection, .tls, .stalled, .deadlineExceeded: return true
        case .gaveUp(_, let last): return last.isUnreachable
        default: return false
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds)
    }
}
