import Dispatch

/// Runs blocking test work (making synthetic photos in Swift, running
/// jpegtran) on a Dispatch thread: never on Swift's cooperative threads,
/// which the code under test needs to resume, and never on
/// `NIOThreadPool.singleton`, which the server under test parses uploads and
/// writes results on. Under the sanitizers such work takes a minute and more,
/// and either place stalled other tests.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
