import Foundation

/// Values computed at most once per key however many threads ask at the same moment: the first
/// caller computes, the others wait for its answer. A failure is not kept: it goes to the
/// caller that computed, and the next caller tries again. How parallel resolution fetches each
/// manifest once and asks the token service once per scope.
final class OnceMap<Key: Hashable, Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Key: Value] = [:]
    private var running = Set<Key>()

    func value(for key: Key) -> Value? {
        condition.lock()
        defer { condition.unlock() }
        return values[key]
    }

    /// Replaces the value (a refreshed token), waking nobody: waiters only wait on `running`.
    func set(_ value: Value, for key: Key) {
        condition.lock()
        values[key] = value
        condition.unlock()
    }

    func value(for key: Key, compute: () throws -> Value) throws -> Value {
        condition.lock()
        while true {
            if let value = values[key] { condition.unlock(); return value }
            if !running.contains(key) { break }
            condition.wait()
        }
        running.insert(key)
        condition.unlock()
        let result = Result { try compute() }
        condition.lock()
        if case .success(let value) = result { values[key] = value }
        running.remove(key)
        condition.broadcast()
        condition.unlock()
        return try result.get()
    }
}
