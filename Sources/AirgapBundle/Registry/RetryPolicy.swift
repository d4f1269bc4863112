import Foundation

/// When and how long to wait before trying a request again: on 429, on 5xx, and on connections
/// reset or timed out. The delay doubles from `initialDelay` up to `maximumDelay`, with jitter,
/// and a registry's `Retry-After` is honoured up to that maximum.
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

    /// Runs `operation` until it succeeds, fails with an error not worth retrying, or runs out of
    /// attempts; `onRetry` hears about each failure that will be retried.
    public func run<T>(_ operation: (_ attempt: Int) throws -> T, onRetry: (Error, Double) -> Void = { _, _ in }) throws -> T {
        var attempt = 1
        while true {
            do {
                return try operation(attempt)
            } catch {
                guard attempt < attempts, let hint = Self.retryHint(for: error) else { throw error }
                let backoff = min(maximumDelay, initialDelay * pow(2, Double(attempt - 1)))
                let delay = min(maximumDelay, max(hint ?? 0, backoff * Double.random(in: 0.8...1.2)))
                onRetry(error, delay)
                Thread.sleep(forTimeInterval: delay)
                attempt += 1
            }
        }
    }

    /// nil: not retryable. `.some(nil)`: retryable, no server hint. `.some(seconds)`: Retry-After.
    static func retryHint(for error: Error) -> Double?? {
        switch error {
        case let error as TransportError where error.retryable:
            return .some(nil)
        case let RegistryError.unexpectedStatus(_, status, _, retryAfter) where status == 429 || (500...599).contains(status):
            return .some(retryAfter)
        default:
            return nil
        }
    }
}
