import NIOConcurrencyHelpers
import NIOPosix
import Scheduler
import ServiceLifecycle
import Testing

@testable import CalotypeApp

/// The allocator is trimmed once the budget falls idle after work, never
/// while something is held.
@Suite("Idle memory trim", .timeLimit(.minutes(1)))
struct IdleMemoryTrimTests {
    @Test func aTrimFollowsWorkOnceNothingIsHeld() async throws {
        let budget = MemoryBudget(limit: 1 << 30)
        let (trims, trimmed) = AsyncStream<(used: Int, holds: UInt64)>.makeStream()
        // A pool of its own: NIO's shared one may be busy with other suites' work.
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let service = IdleMemoryTrimService(
            budget: budget,
            interval: .milliseconds(5),
            trimmable: true,
            trim: { trimmed.yield(budget.activity) },
            threads: threads
        )
        let hold = budget.commit(8 << 20)
        let running = Task { try await service.run() }
        // Held: whatever the ticks, no trim can see this hold's bytes.
        hold.release()
        var iterator = trims.makeAsyncIterator()
        let first = try #require(await iterator.next())
        #expect(first.used == 0 && first.holds == 1)
        // New work, gone again: one more trim, after it.
        budget.commit(1 << 20).release()
        let second = try #require(await iterator.next())
        #expect(second.used == 0 && second.holds == 2)
        running.cancel()
        _ = try? await running.value
    }
}
