import Foundation

/// What is worth another try, and how long to wait: the one place that decides. 429 and 5xx
/// (except 501 and 505, which say the server never will), connections reset or refused, and a
/// stalled transfer — that last one once, since a peer that stalled twice is not coming back.
/// The delay doubles from `initialDelay` up to `maximumDelay`, with jitter; a server's
/// `Retry-After` is honoured up to that maximum; nothing is retried past the transfer's deadline.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var initialDelay: Double
    public var maximumDelay: Double

    public init(attempts: Int = 5, initialDelay: Double = 0.5, maximumDelay: Double = 16) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    public static let none = RetryPolicy(attempts: 1)
    static let stallRetries = 1

    public static func isRetryable(status: Int) -> Bool {
        status == 429 || ((500...599).contains(status) && status != 501 && status != 505)
    }

    /// Runs `operation` until it succeeds, fails with an error not worth retrying, runs out of
    /// attempts, or would wait past `deadline`; `onRetry` hears about each failure retried.
    public func run<T>(deadline: Date? = nil, _ operation: (_ attempt: Int) throws -> T,
                       onRetry: (Error, Double) -> Void = { _, _ in }) throws -> T {
        var attempt = 1
        var stalls = 0
        while true {
            do {
                return try operation(attempt)
            } catch {
                guard attempt < attempts, let hint = Self.retryHint(for: error) else { throw error }
                if case TransportError.stalled = error {
                    stalls += 1
                    guard stalls <= Self.stallRetries else { throw error }
                }
                let backoff = min(maximumDelay, initialDelay * pow(2, Double(attempt - 1)))
                let delay = min(maximumDelay, max(hint ?? 0, backoff * Double.random(in: 0.8...1.2)))
                if let deadline, Date().addingTimeInterval(delay) >= deadline { throw error }
                onRetry(error, delay)
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
            }
        }
    }

    /// nil: not retryable. `.some(nil)`: retryable, no server hint. `.some(seconds)`: Retry-After.
    static func retryHint(for error: Error) -> Double?? {
        guard let error = error as? TransportError, error.retryable else { return nil }
        if case .retryableStatus(_, _, _, let retryAfter) = error { return .some(retryAfter) }
        return .some(nil)
    }
}
