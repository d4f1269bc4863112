import Foundation

/// Runs blocking work (a libcurl transfer, a file copy) on a thread of its own, so the async
/// caller's cooperative threads are never stuck in a system call.
func offload<T>(_ work: @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try work() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// A flag set once, read from many threads: how in-flight transfers learn that a sibling failed.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false

    func cancel() { lock.lock(); set = true; lock.unlock() }

    var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return set }

    func check() throws { if isCancelled { throw CancellationError() } }
}

/// Runs `body` on each item with at most `width` running at once; the first error cancels the
/// rest (their transfers stop at their next chunk) and is rethrown.
func forEachConcurrently<Item: Sendable>(
    _ items: [Item], width: Int, _ body: @escaping @Sendable (Item, CancellationFlag) throws -> Void
) async throws {
    let flag = CancellationFlag()
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        var running = 0
        func startNext() -> Bool {
            guard let item = iterator.next() else { return false }
            group.addTask {
                do { try await offload { try body(item, flag) } } catch {
                    flag.cancel()
                    throw error
                }
            }
            return true
        }
        while running < max(1, width), startNext() { running += 1 }
        var firstError: Error?
        while true {
            do {
                guard try await group.next() != nil else { break }
                if firstError == nil, startNext() { continue }
            } catch {
                // Keep the first real failure, not the cancellations it caused.
                if firstError == nil || firstError is CancellationError { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }
}

/// Runs `body` on each item with at most `width` running at once and returns every outcome in
/// the items' order. Nothing is cancelled: the caller judges failures in order, so which error
/// a run reports does not depend on which request happened to finish first.
func mapConcurrently<Item: Sendable, Value: Sendable>(
    _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) throws -> Value
) async -> [Result<Value, Error>] {
    await withTaskGroup(of: (Int, Result<Value, Error>).self) { group in
        var results = [Result<Value, Error>?](repeating: nil, count: items.count)
        var next = 0
        func startNext() -> Bool {
            guard next < items.count else { return false }
            let (index, item) = (next, items[next])
            next += 1
            group.addTask {
                do { return (index, .success(try await offload { try body(item) })) } catch { return (index, .failure(error)) }
            }
            return true
        }
        var running = 0
        while running < max(1, width), startNext() { running += 1 }
        while let (index, result) = await group.next() {
            results[index] = result
            _ = startNext()
        }
        return results.map { $0! }
    }
}
