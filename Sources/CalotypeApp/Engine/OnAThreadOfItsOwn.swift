import Foundation
import NIOConcurrencyHelpers

/// Runs blocking work (starting libvips and the OpenCL devices, building
/// kernels) on a new thread, never on Swift's cooperative threads nor on
/// `NIOThreadPool.singleton`, and resumes the caller with its outcome.
///
/// The work runs holding a lock that the caller takes once resumed:
/// ThreadSanitizer does not see the Swift runtime's own synchronisation
/// between a `Thread` and the task it resumes, and reported the engine built
/// on one as raced with the task that read it. The lock is never contended.
func onAThreadOfItsOwn<Output: Sendable>(_ body: @escaping @Sendable () -> Output) async -> Output {
    let handOver = NIOLock()
    let output = await withCheckedContinuation { (continuation: CheckedContinuation<Output, Never>) in
        Thread {
            let output = handOver.withLock { body() }
            continuation.resume(returning: output)
        }.start()
    }
    // What the thread wrote before it let go of the lock is seen from here on.
    handOver.withLock {}
    return output
}
