@testable import AirgapBundle
import Foundation
import XCTest

/// The one bound on blocking work: never more than `width` at once, all of them when there is
/// work for them, results in order, and the first failure stops what has not started.
final class WorkerPoolTests: XCTestCase {
    /// Counts bodies running at once; the first `rendezvous` to start wait for each other, so a
    /// pool narrower than that would never let them all through (and the wait would time out).
    private final class Overlap: @unchecked Sendable {
        let condition = NSCondition()
        let rendezvous: Int
        var running = 0, peak = 0, started = 0, finished = 0
        var rendezvousMissed = false

        init(rendezvous: Int) { self.rendezvous = rendezvous }

        func body() {
            condition.lock()
            running += 1
            started += 1
            peak = max(peak, running)
            let mine = started
            condition.broadcast()
            if mine <= rendezvous {
                while started < rendezvous {
                    if !condition.wait(until: Date().addingTimeInterval(20)) { rendezvousMissed = true; break }
                }
            }
            running -= 1
            finished += 1
            condition.unlock()
        }
    }

    func testNoMoreThanWidthRunAtOnceAndAllOfThemDo() async throws {
        let overlap = Overlap(rendezvous: 3)
        try await WorkerPool(width: 3).forEach(Array(0..<40)) { _, _ in overlap.body() }
        XCTAssertFalse(overlap.rendezvousMissed, "three bodies never ran at the same time")
        XCTAssertEqual(overlap.peak, 3)
        XCTAssertEqual(overlap.finished, 40)
    }

    func testCallersSharingAPoolShareItsBound() async throws {
        let overlap = Overlap(rendezvous: 2)
        let pool = WorkerPool(width: 2)
        async let first: Void = pool.forEach(Array(0..<20)) { _, _ in overlap.body() }
        async let second: Void = pool.forEach(Array(0..<20)) { _, _ in overlap.body() }
        async let single: Void = pool.run { overlap.body() }
        _ = try await (first, second, single)
        XCTAssertFalse(overlap.rendezvousMissed)
        XCTAssertEqual(overlap.peak, 2)
        XCTAssertEqual(overlap.finished, 41)
    }

    func testItemsStartInTheirOrderSoOneJobIsOneAfterTheOther() async throws {
        final class Starts: @unchecked Sendable { let lock = NSLock(); var order: [Int] = [] }
        let starts = Starts()
        try await WorkerPool(width: 1).forEach(Array(0..<50)) { item, _ in
            starts.lock.lock(); starts.order.append(item); starts.lock.unlock()
        }
        XCTAssertEqual(starts.order, Array(0..<50))
    }

    func testMapKeepsTheOrderOfItems() async throws {
        let squares = try await WorkerPool(width: 4).map(Array(0..<100)) { item, _ in item * item }
        XCTAssertEqual(squares, (0..<100).map { $0 * $0 })
    }

    struct Broken: Error, Equatable { var item: Int }

    func testTheFirstFailureIsRethrownAndWorkNotStartedIsDropped() async throws {
        let overlap = Overlap(rendezvous: 0)
        final class First: @unchecked Sendable { let lock = NSLock(); var item: Int? }
        let first = First()
        do {
            try await WorkerPool(width: 2).forEach(Array(0..<100)) { item, flag in
                first.lock.lock()
                let fail = first.item == nil
                if fail { first.item = item }
                first.lock.unlock()
                if fail { throw Broken(item: item) }
                overlap.body()
                // Running work hears of a sibling's failure through the flag.
                let deadline = Date().addingTimeInterval(20)
                while !flag.isCancelled, Date() < deadline { usleep(1000) }
                throw CancellationError()
            }
            XCTFail("a failing body must fail the whole")
        } catch let error as Broken {
            XCTAssertEqual(error, Broken(item: first.item!))
        }
        // Only what was already running when the first body failed: at most one other.
        XCTAssertLessThanOrEqual(overlap.started, 1)
    }

    func testAPoolOfZeroStillRunsWork() async throws {
        let pool = WorkerPool(width: 0)
        XCTAssertEqual(pool.width, 1)
        let value = try await pool.run { 42 }
        XCTAssertEqual(value, 42)
    }
}
