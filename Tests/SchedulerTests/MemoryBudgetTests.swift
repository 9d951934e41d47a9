import Foundation
import Scheduler
import Testing

@Suite("Memory budget", .timeLimit(.minutes(1)))
struct MemoryBudgetTests {
    @Test func admitsWhatFitsAndGivesItBack() async throws {
        let budget = MemoryBudget(limit: 100)
        let first = try #require(await budget.admit(60, waitingAtMost: .zero))
        #expect(budget.used == 60)
        #expect(await budget.admit(50, waitingAtMost: .zero) == nil)  // 110 > 100, no wait
        let second = try #require(await budget.admit(40, waitingAtMost: .zero))
        #expect(budget.used == 100)
        first.release()
        first.release()  // once only
        #expect(budget.used == 40)
        _ = second
    }

    @Test func aLoneRequestLargerThanTheBudgetStillRuns() async throws {
        let budget = MemoryBudget(limit: 100)
        let huge = try #require(await budget.admit(500, waitingAtMost: .zero))
        #expect(await budget.admit(1, waitingAtMost: .zero) == nil)
        huge.release()
        #expect(await budget.admit(1, waitingAtMost: .zero) != nil)
    }

    @Test func aWaiterIsAdmittedWhenRoomComes() async throws {
        let budget = MemoryBudget(limit: 100)
        let held = try #require(await budget.admit(90, waitingAtMost: .zero))
        async let waiting = budget.admit(50, waitingAtMost: .seconds(30))
        // The waiter queues behind the 90 bytes; newcomers queue behind it.
        while await budget.admit(5, waitingAtMost: .zero) != nil {}  // never true while someone waits
        held.release()
        let admitted = await waiting
        #expect(admitted?.bytes == 50)
        #expect(budget.used == 50)
    }

    @Test func aWaiterGivesUpAtItsDeadline() async throws {
        let budget = MemoryBudget(limit: 100)
        let held = try #require(await budget.admit(100, waitingAtMost: .zero))
        let started = ContinuousClock.now
        #expect(await budget.admit(10, waitingAtMost: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        _ = held
        #expect(budget.used == 100)
    }

    @Test func committedBytesHoldNewcomersBackButAreNeverRefused() async throws {
        let budget = MemoryBudget(limit: 100)
        var committed: MemoryBudget.Hold? = budget.commit(150)
        #expect(budget.used == 150)
        #expect(await budget.admit(10, waitingAtMost: .zero) == nil)
        committed = nil  // dropping a hold gives its bytes back
        #expect(budget.used == 0)
        _ = committed
    }

    @Test func aCancelledWaiterLeaves() async throws {
        let budget = MemoryBudget(limit: 100)
        let held = try #require(await budget.admit(100, waitingAtMost: .zero))
        let task = Task { await budget.admit(10, waitingAtMost: .seconds(60)) }
        task.cancel()
        #expect(await task.value == nil)
        held.release()
        #expect(budget.used == 0)
    }

    @Test func theDefaultFollowsWorkersAndMemory() {
        #expect(MemoryBudget.defaultLimit(workers: 2, physicalMemory: 24 << 30) == 320 << 20)
        #expect(MemoryBudget.defaultLimit(workers: 64, physicalMemory: 8 << 30) == 2 << 30)
        #expect(MemoryBudget.defaultLimit(workers: 1, physicalMemory: 128 << 20) == 64 << 20)
    }
}
