import Foundation
import NIOConcurrencyHelpers

/// Two at a time: under ThreadSanitizer making one synthetic photo in Swift
/// takes a minute of CPU, and a dozen at once starved every other test.
private let blockingSlots = DispatchSemaphore(value: 2)

/// Runs blocking test work (making synthetic photos in Swift, running
/// jpegtran) on a thread of its own, at most two at a time: never on Swift's
/// cooperative threads, which the code under test needs to resume; never on
/// `NIOThreadPool.singleton`, which the server under test parses uploads and
/// writes results on; and never on Dispatch's global queues, whose threads
/// Swift's executor shares on Linux. Each of those places stalled other tests.
///
/// The work runs holding a lock the caller takes once resumed, so that
/// ThreadSanitizer sees what the thread wrote as written before it is read
/// (it does not see the Swift runtime's own hand-over).
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let handOver = NIOLock()
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
        Thread {
            blockingSlots.wait()
            defer { blockingSlots.signal() }
            continuation.resume(returning: handOver.withLock { Result { try body() } })
        }.start()
    }
    handOver.withLock {}
    return try result.get()
}
