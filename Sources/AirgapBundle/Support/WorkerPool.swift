import Foundation

/// A fixed number of threads for blocking work (a libcurl transfer, a positional read, a hash).
/// Async callers hand work over and await it, so the cooperative threads never sit in a system
/// call, and however many callers there are, at most `width` pieces of work run at once: the
/// one bound `--jobs` sets for a command, whether the work is a HEAD, a mount, a blob upload or a
/// manifest PUT.
///
/// One pool per command run (no global state). Threads start on first use, never more than
/// `width`, and end once the last copy of the pool is gone and the queue is drained.
///
/// Work must not wait synchronously for other work of the same pool (that can deadlock once all
/// threads wait); await instead, from outside the pool.
public struct WorkerPool: Sendable {
    /// The `--jobs` default of every command that has it (pack, lock, push). Transfers here wait
    /// on round trips and disks, not on the two or four cores of a bastion host, so the bound is
    /// set by what is polite to a registry and what is measured: pushing 200 small images took
    /// 19.4 s with 1 job, 7.3 s with 4, 6.2 s with 8 and 6.0 s with 16 (bench/many-images.sh),
    /// so 8 takes nearly all the gain; it is also the order of skopeo's (6) parallelism.
    public static let defaultJobs = 8
    /// What `--jobs` accepts.
    public static let jobsRange = 1...64

    public let width: Int
    private let queue: JobQueue
    private let lifetime: Lifetime

    public init(width: Int) {
        self.width = max(1, width)
        self.queue = JobQueue(width: max(1, width))
        self.lifetime = Lifetime(queue)
    }

    /// Runs `work` on a pool thread (waiting for a free one) and returns what it returns.
    public func run<T>(_ work: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.submit { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs `body` on each item, at most `width` at once (fewer when other callers share the
    /// pool), started in the order of `items` (so `--jobs 1` is one after the other, in order).
    /// The first error sets the flag every running body sees (their transfers stop at their
    /// next chunk), items not yet started are dropped, and that error is rethrown — the first
    /// real one, not the cancellations it caused.
    public func forEach<Item: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Item, CancellationFlag) throws -> Void
    ) async throws {
        _ = try await map(items) { item, flag in try body(item, flag) }
    }

    /// `forEach` that keeps what each body returns, in the order of `items`.
    public func map<Item: Sendable, Value>(
        _ items: [Item], _ body: @escaping @Sendable (Item, CancellationFlag) throws -> Value
    ) async throws -> [Value] {
        guard !items.isEmpty else { return [] }
        let flag = CancellationFlag()
        return try await withCheckedThrowingContinuation { continuation in
            let batch = Batch<Value>(count: items.count, continuation: continuation)
            // Queued in order, one job per item, from here: the queue is FIFO.
            for (position, item) in items.enumerated() {
                queue.submit {
                    guard !flag.isCancelled else { return batch.finish(position, .failure(CancellationError())) }
                    let result = Result { try body(item, flag) }
                    // Before this thread takes the next job, so that job is dropped.
                    if case .failure = result { flag.cancel() }
                    batch.finish(position, result)
                }
            }
        }
    }
}

/// The results of one `map`, filled from the pool's threads; the last to finish resumes the
/// caller with every value or the first failure.
private final class Batch<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value?]
    private var remaining: Int
    private var firstError: Error?
    private let continuation: CheckedContinuation<[Value], Error>

    init(count: Int, continuation: CheckedContinuation<[Value], Error>) {
        values = Array(repeating: nil, count: count)
        remaining = count
        self.continuation = continuation
    }

    func finish(_ position: Int, _ result: Result<Value, Error>) {
        lock.lock()
        switch result {
        case .success(let value): values[position] = value
        case .failure(let error):
            // The failure itself, not the cancellations it caused.
            if firstError == nil || firstError is CancellationError { firstError = error }
        }
        remaining -= 1
        let done = remaining == 0
        lock.unlock()
        guard done else { return }
        if let firstError { continuation.resume(throwing: firstError) } else { continuation.resume(returning: values.map { $0! }) }
    }
}

/// A flag set once, read from many threads: how in-flight transfers learn that a sibling failed.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false

    public init() {}

    public func cancel() { lock.lock(); set = true; lock.unlock() }

    public var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return set }

    public func check() throws { if isCancelled { throw CancellationError() } }
}

/// The pool's queue and its threads. Threads hold the queue, not the pool, so the pool's last
/// copy going away (`Lifetime`) is what lets them end.
private final class JobQueue: @unchecked Sendable {
    private let width: Int
    private let condition = NSCondition()
    /// Taken jobs are set to nil at once: a finished job must not keep what it captured (an
    /// unpublished output file, say) alive for as long as the pool lives.
    private var jobs: [(() -> Void)?] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private var closed = false

    init(width: Int) { self.width = width }

    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        // Idle threads take waiting jobs; a new thread only for what they cannot.
        let start = jobs.count - head > idle && threads < width
        if start { threads += 1 }
        condition.signal()
        condition.unlock()
        if start {
            let thread = Thread { [self] in work() }
            // Transfers and hashes need little stack; 1 MiB keeps `width` threads cheap.
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count, !closed {
                idle += 1
                condition.wait()
                idle -= 1
            }
            if head == jobs.count {
                threads -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            jobs[head] = nil
            head += 1
            // Drop finished jobs now and then, so a long run's queue does not keep them all.
            if head > 1024, head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job?()
        }
    }
}

/// Closes the queue when the last copy of its pool is gone.
private final class Lifetime: @unchecked Sendable {
    private let queue: JobQueue
    init(_ queue: JobQueue) { self.queue = queue }
    deinit { queue.close() }
}
