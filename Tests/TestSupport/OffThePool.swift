import Foundation

/// Runs blocking test work (making synthetic photos in Swift, running
/// jpegtran) on a thread of its own: never on Swift's cooperative threads,
/// which the code under test needs to resume; never on
/// `NIOThreadPool.singleton`, which the server under test parses uploads and
/// writes results on; and never on Dispatch's global queues, whose threads
/// Swift's executor shares on Linux. Under the sanitizers such work takes a
/// minute and more, and each of those places stalled other tests.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try body() })
        }.start()
    }
}
