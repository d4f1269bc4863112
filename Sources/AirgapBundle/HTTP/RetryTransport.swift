import Foundation

/// The retry layer: sends a request again when `RetryPolicy` says the failure is worth it, and
/// stamps the transfer's deadline (`--timeout`) on requests that carry none.
///
/// A request marked `.byCaller` (an upload the server may have partly kept, a download that
/// resumes with `Range`) is sent once; a 429 or 5xx answer is then thrown as
/// `TransportError.retryableStatus` for the caller's own `RetryPolicy.run` loop. For every other
/// request a retry calls `onHead` again before the new body, so the sink can start over. When
/// the attempts are used up, a failure comes back as `.gaveUp`, which no outer loop retries
/// again; a final 429/5xx answer is returned for the caller to name.
struct RetryTransport: HTTPTransport {
    var inner: HTTPTransport
    var policy: RetryPolicy
    var limits: TransferLimits
    var onRetry: @Sendable (String) -> Void
    /// `--debug`: also the decisions not to try again, which `onRetry` never hears about.
    var trace: (@Sendable (String) -> Void)? = nil

    func send(_ request: HTTPRequest, onHead: HeadHandler, into sink: BodySink) throws -> HTTPResponse {
        var request = request
        if request.deadline == nil { request.deadline = Date().addingTimeInterval(limits.timeout) }
        if request.retry == .byCaller {
            let response = try inner.send(request, onHead: onHead, into: sink)
            if RetryPolicy.isRetryable(status: response.status) {
                trace?("retry: \(request.method) \(request.url.debugString) answered \(response.status); the caller decides (its body may be partly kept)")
                throw Self.statusError(response, request.url)
            }
            return response
        }
        var attempts = 0
        do {
            return try policy.run(deadline: request.deadline, { attempt in
                attempts = attempt
                let response = try inner.send(request, onHead: onHead, into: sink)
                if RetryPolicy.isRetryable(status: response.status) {
                    if attempt < policy.attempts { throw Self.statusError(response, request.url) }
                    trace?("retry: giving up on \(request.method) \(request.url.debugString) after \(attempt) attempts (--retry-times)")
                }
                return response
            }, onRetry: { [onRetry, url = request.url] error, delay in
                onRetry(Self.notice(url, delay: delay, error: error))
            })
        } catch let error as TransportError where error.retryable {
            trace?("retry: giving up on \(request.method) \(request.url.debugString) after \(attempts) attempts (--retry-times, --timeout)")
            throw TransportError.gaveUp(attempts: attempts, last: error)
        } catch {
            trace?("retry: not trying \(request.method) \(request.url.debugString) again: \(error)")
            throw error
        }
    }

    /// The line the operator sees for each retry (with `--debug` or without).
    static func notice(_ url: URL, delay: Double, error: Error) -> String {
        "retrying \(url.redactedString) in \(String(format: "%.1f", delay))s: \((error as? TransportError)?.brief ?? "\(error)")"
    }

    static func statusError(_ response: HTTPResponse, _ url: URL) -> TransportError {
        .retryableStatus(url: url, status: response.status, detail: ErrorBody.detail(response.errorBody), retryAfter: response.retryAfter)
    }
}

/// What a server said in an error body, for a one-line message: a distribution-spec
/// `errors[].code: message`, or the start of a plain-text body (HTML pages say nothing useful).
public enum ErrorBody {
    public static func detail(_ body: Data) -> String {
        struct Envelope: Decodable {
            struct Entry: Decodable { var code: String?; var message: String? }
            var errors: [Entry]?
        }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: body), let errors = envelope.errors, !errors.isEmpty {
            return String(errors.prefix(5).map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ").prefix(300))
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.contains("<") ? "" : text
    }
}
