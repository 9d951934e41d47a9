import CalotypeLibvips
import NIOPosix
import Scheduler
import ServiceLifecycle

/// Gives freed memory back to the kernel once the server falls idle after
/// work: when nothing is held in the memory budget and holds were given
/// out since the last look, glibc's `malloc_trim(0)` runs once on a thread
/// that may block.
///
/// The budget bounds what the work holds, not what glibc keeps afterwards:
/// freed uploads and decoded buffers in the middle of an arena stay
/// resident, and after a crowd of large photos the server kept its peak
/// at rest. Trimming at every release would cost the busy path (it walks
/// every arena under its lock); once per idle spell costs nothing while busy.
struct IdleMemoryTrimService: Service {
    let budget: MemoryBudget
    /// How often the budget is looked at.
    var interval: Duration = .seconds(1)
    /// Whether there is an allocator to trim (glibc's own malloc).
    var trimmable = AllocatorTuning.glibcMallocInUse
    /// The trim; blocking (run on `threads`).
    var trim: @Sendable () -> Void = { AllocatorTuning.trimFreeMemory() }
    var threads: NIOThreadPool = .singleton

    /// Returns only when the service group shuts down: a service that
    /// ends early would end the group.
    func run() async throws {
        // A sanitizer's or a preloaded allocator: glibc's trim would reach nothing.
        guard trimmable else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown { try await trimWhenIdle() }
    }

    private func trimWhenIdle() async throws {
        var trimmedAfter: UInt64 = 0
        while true {
            try await Task.sleep(for: interval)
            let (used, holds) = budget.activity
            guard used == 0, holds != trimmedAfter else { continue }
            trimmedAfter = holds
            try await threads.runIfActive(trim)
        }
    }
}
