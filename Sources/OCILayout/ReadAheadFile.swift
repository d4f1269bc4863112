import CSystem
import Foundation
import Manifests

/// Reads a file front to back on a thread of its own, a few blocks ahead of its consumer, and
/// optionally feeds every byte to a second hasher on a third thread ("the tap"). The consumer
/// (libarchive, hashing entries) then never waits on a read, and the whole-file checksum costs
/// no second pass over the disk: on two cores, verify runs at the speed of one hash.
///
/// Blocks are handed out in order; a block stays valid until the consumer asks for the next.
final class ReadAheadFile: @unchecked Sendable {
    private let file: PartedFile
    private var position: Int64 = 0
    private let blockSize: Int
    private let slots: [UnsafeMutableRawBufferPointer]
    private var counts: [Int]
    private let condition = NSCondition()
    private let threads = DispatchGroup()
    private let tap: ReadTap?

    // Sequence numbers of blocks, guarded by `condition`.
    private var produced = 0
    private var consumed = 0
    private var tapped = 0
    private var consumerHolds = false
    private var consumerDone = false
    private var endOfFile = false
    private var stopped = false
    private var failure: Error?

    init(file: PartedFile, blockSize: Int = 1 << 20, depth: Int = 8, tap: ReadTap? = nil) {
        self.file = file
        self.blockSize = blockSize
        self.slots = (0..<depth).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096) }
        self.counts = Array(repeating: 0, count: depth)
        self.tap = tap
        file.adviseSequential()
        start(produce)
        if tap != nil { start(hashForTap) }
    }

    deinit {
        for slot in slots { slot.deallocate() }
    }

    private func start(_ body: @escaping () -> Void) {
        threads.enter()
        Thread.detachNewThread { [threads] in
            body()
            threads.leave()
        }
    }

    /// Stops the threads and waits for them; call before releasing the reader.
    func close() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        threads.wait()
    }

    /// The oldest block a slot may not yet be overwritten for.
    private var oldestInUse: Int {
        let consumerPosition = consumerDone ? produced : consumed
        return tap == nil ? consumerPosition : min(consumerPosition, tapped)
    }

    private func produce() {
        while true {
            condition.lock()
            while !stopped, produced - oldestInUse >= slots.count { condition.wait() }
            if stopped { condition.unlock(); return }
            let slot = slots[produced % slots.count]
            condition.unlock()

            var count = 0
            var error: Error?
            do {
                count = try file.read(into: slot, at: position)
                position += Int64(count)
            } catch let readError { error = readError }

            condition.lock()
            if let error {
                failure = error
            } else if count == 0 {
                endOfFile = true
            } else {
                counts[produced % slots.count] = count
                produced += 1
                if count < blockSize { endOfFile = true }
            }
            let finished = endOfFile || failure != nil
            condition.broadcast()
            condition.unlock()
            if finished { return }
        }
    }

    private func hashForTap() {
        guard let tap else { return }
        while true {
            condition.lock()
            while !stopped, tapped == produced, !endOfFile, failure == nil { condition.wait() }
            if stopped || tapped == produced { condition.unlock(); return }
            let slot = slots[tapped % slots.count]
            let count = counts[tapped % slots.count]
            condition.unlock()
            tap.update(UnsafeRawBufferPointer(rebasing: slot[0..<count]))
            condition.lock()
            tapped += 1
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next block, or an empty buffer at the end of the file. The previous block is released.
    func nextBlock() throws -> UnsafeRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        if consumerHolds {
            consumed += 1
            consumerHolds = false
            condition.broadcast()
        }
        while consumed == produced, !endOfFile, failure == nil, !stopped { condition.wait() }
        if let failure { throw failure }
        guard consumed < produced else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        consumerHolds = true
        return UnsafeRawBufferPointer(rebasing: slots[consumed % slots.count][0..<counts[consumed % slots.count]])
    }

    /// Lets the tap run to the end of the file even where the consumer stopped early (libarchive
    /// stops at the end-of-archive marker); when it returns, the tap has seen every byte.
    func finishTap() throws {
        guard tap != nil else { return }
        condition.lock()
        consumerDone = true
        condition.broadcast()
        while failure == nil, !(endOfFile && tapped == produced) { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
    }
}
