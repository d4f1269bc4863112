@testable import AirgapBundle
import Foundation
import XCTest

/// What the one retry policy retries, how often, and within what deadline.
final class RetryPolicyTests: XCTestCase {
    private let url = URL(string: "https://r.example/v2/")!
    private let quick = RetryPolicy(attempts: 5, initialDelay: 0.001, maximumDelay: 0.002)

    func testStatusesWorthAnotherTry() {
        XCTAssertEqual([429, 500, 502, 503, 504].filter(RetryPolicy.isRetryable), [429, 500, 502, 503, 504])
        XCTAssertEqual([200, 301, 400, 401, 403, 404, 416, 501, 505].filter(RetryPolicy.isRetryable), [])
    }

    func testResetsAreRetriedUpToTheAttemptsAndTLSNever() {
        var attempts = 0
        XCTAssertThrowsError(try quick.run { _ in attempts += 1; throw TransportError.connection(url: url, message: "reset", retryable: true) })
        XCTAssertEqual(attempts, 5)
        attempts = 0
        XCTAssertThrowsError(try quick.run { _ in attempts += 1; throw TransportError.tls(url: url, message: "bad certificate") })
        XCTAssertEqual(attempts, 1)
    }

    func testAStallIsTriedOnceMore() {
        var attempts = 0
        XCTAssertThrowsError(try quick.run { _ in attempts += 1; throw TransportError.stalled(url: url, bytesPerSecond: 1024, seconds: 30) })
        XCTAssertEqual(attempts, 2)
    }

    func testGivingUpIsNotRetriedByAnOuterLoop() {
        var attempts = 0
        let last = TransportError.connection(url: url, message: "reset", retryable: true)
        XCTAssertThrowsError(try quick.run { _ in attempts += 1; throw TransportError.gaveUp(attempts: 5, last: last) })
        XCTAssertEqual(attempts, 1)
    }

    func testNothingIsRetriedPastTheDeadline() {
        let slow = RetryPolicy(attempts: 5, initialDelay: 10, maximumDelay: 10)
        var attempts = 0
        let started = Date()
        XCTAssertThrowsError(try slow.run(deadline: Date().addingTimeInterval(1)) { _ in
            attempts += 1
            throw TransportError.retryableStatus(url: url, status: 503, detail: "", retryAfter: nil)
        })
        XCTAssertEqual(attempts, 1)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testAStallIsNoticedWithinAQuarterOfTheTimeout() {
        XCTAssertEqual(TransferLimits().lowSpeedSeconds, 30)
        XCTAssertEqual(TransferLimits(timeout: 20).lowSpeedSeconds, 5)
        XCTAssertEqual(TransferLimits(timeout: 2).lowSpeedSeconds, 1)
    }
}
