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

    @Test func absurdEstimatesSaturateInsteadOfTrapping() {
        #expect(MemoryBudget.decodedEstimate(megapixels: 1) == 4_000_000)
        #expect(MemoryBudget.decodedEstimate(megapixels: 0) == 0)
        #expect(MemoryBudget.decodedEstimate(megapixels: -1) == 0)
        #expect(MemoryBudget.decodedEstimate(megapixels: .nan) == 0)
        #expect(MemoryBudget.decodedEstimate(megapixels: .infinity) == .max)
        // 2^32 - 1 on each side, as a PNG header may declare.
        #expect(MemoryBudget.decodedEstimate(megapixels: Double(UInt32.max) * Double(UInt32.max) / 1e6) == .max)
        #expect(MemoryBudget.decodedEstimate(megapixels: Double(Int.max)) == .max)
    }

    @Test func commitsSaturateAndReleaseExactlyWhatTheyAdded() async throws {
        let budget = MemoryBudget(limit: 320 << 20)
        let first = budget.commit(1 << 62)
        let second = budget.commit(1 << 62)  // 2^63 would overflow: adds the room left
        let third = budget.commit(.max)
        #expect(first.bytes == 1 << 62 && second.bytes == (1 << 62) - 1 && third.bytes == 0)
        #expect(budget.used == .max)
        #expect(await budget.admit(1, waitingAtMost: .zero) == nil)
        third.release()
        second.release()
        first.release()
        #expect(budget.used == 0)
        #expect(budget.commit(-5).bytes == 0)
        #expect(await budget.admit(.max, waitingAtMost: .zero)?.bytes == .max)  // alone: admitted, no trap
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
