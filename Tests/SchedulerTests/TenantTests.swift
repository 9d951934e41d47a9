import CalotypeCore
import Scheduler
import Testing

/// Tenants share the lanes: turns between tenants before turns between
/// batches, and each tenant's cap of jobs at once. Start order, not time,
/// is what these read: the gated backend holds every job until released.
@Suite("Scheduler: tenants", .timeLimit(.minutes(1)))
struct TenantTests {
    static let bulk = JobTenant(name: "bulk")
    static let web = JobTenant(name: "web")

    /// Submits each job once the one before is queued, so arrival order is
    /// the order written (tasks started together may queue in any order).
    func queue(_ requests: [JobRequest], on scheduler: Scheduler, events: EventLog) async -> [Task<JobResult, any Error>] {
        var tasks: [Task<JobResult, any Error>] = []
        let queuedBefore = events.count(.queued)
        for (index, request) in requests.enumerated() {
            tasks.append(start(scheduler, request))
            await events.waitFor(queuedBefore + index + 1, .queued)
        }
        return tasks
    }

    /// Releases the jobs one at a time in the order they start, until `count` have started.
    func releaseInStartOrder(_ gate: Gate, through count: Int, from first: Int = 0) async {
        for index in first..<count {
            await gate.waitUntilStarted(index + 1)
            gate.release(gate.started[index])
        }
    }

    @Test func anotherTenantsJobWaitsOnlyForTheJobsRunningNotForABatchQueuedBeforeIt() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
        let batch = await scheduler.makeBatchID()
        let running = start(scheduler, job("bulk0", priority: .batch, batch: batch, tenant: Self.bulk))
        await gate.waitUntilStarted(1)
        var tasks = await queue(
            (1...20).map { job("bulk\($0)", priority: .batch, batch: batch, tenant: Self.bulk) },
            on: scheduler,
            events: events
        )
        // The other tenant's batch item and single image arrive after 20 queued items.
        let webBatch = await scheduler.makeBatchID()
        tasks += await queue(
            [job("web-item", priority: .batch, batch: webBatch, tenant: Self.web), job("web-single", tenant: Self.web)],
            on: scheduler,
            events: events
        )
        await releaseInStartOrder(gate, through: 23)
        _ = try await running.value
        for task in tasks { _ = try await task.value }
        // web's first job starts right after the running one; the two tenants alternate while both wait.
        #expect(Array(gate.started.prefix(5)) == ["bulk0", "web-single", "bulk1", "web-item", "bulk2"], "\(gate.started)")
    }

    /// Single images of one tenant, however many, do not hold back
    /// another's: interactive jobs take turns between tenants too.
    @Test func aFloodOfOneTenantsSingleImagesDelaysAnothersByOneJob() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
        let running = start(scheduler, job("flood0", tenant: Self.bulk))
        await gate.waitUntilStarted(1)
        var tasks = await queue((1...30).map { job("flood\($0)", tenant: Self.bulk) }, on: scheduler, events: events)
        tasks += await queue([job("web1", tenant: Self.web), job("web2", tenant: Self.web)], on: scheduler, events: events)
        await releaseInStartOrder(gate, through: 33)
        _ = try await running.value
        for task in tasks { _ = try await task.value }
        #expect(Array(gate.started.prefix(5)) == ["flood0", "web1", "flood1", "web2", "flood2"], "\(gate.started)")
    }

    @Test func withOneTenantSinglesStillGoAheadOfBatchItems() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
        let batch = await scheduler.makeBatchID()
        let running = start(scheduler, job("blocker", tenant: Self.web))
        await gate.waitUntilStarted(1)
        let tasks = await queue(
            [
                job("item1", priority: .batch, batch: batch, tenant: Self.web), job("item2", priority: .batch, batch: batch, tenant: Self.web),
                job("single", tenant: Self.web),
            ],
            on: scheduler,
            events: events
        )
        await releaseInStartOrder(gate, through: 4)
        _ = try await running.value
        for task in tasks { _ = try await task.value }
        #expect(gate.started == ["blocker", "single", "item1", "item2"])
    }

    @Test func aTenantRunsAtMostItsCapAcrossEveryLaneAndOthersTakeTheFreeWorkers() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(
            lanes: [
                .init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 2, prior: (1, 0)),
                .init(backend: GatedBackend("gpu", kind: .gpu, gate: gate), workers: 2, prior: (1, 0)),
            ],
            observer: events.observer
        )
        let capped = JobTenant(name: "capped", maxInFlight: 2)
        var tasks = [start(scheduler, job("c1", tenant: capped))]
        await gate.waitUntilStarted(1)
        tasks.append(start(scheduler, job("c2", tenant: capped)))
        await gate.waitUntilStarted(2)
        // Past its cap, the tenant's jobs wait outside the lanes.
        tasks += (3...6).map { start(scheduler, job("c\($0)", tenant: capped)) }
        // Another tenant takes the two free workers.
        tasks += [start(scheduler, job("w1", tenant: Self.web)), start(scheduler, job("w2", tenant: Self.web))]
        await gate.waitUntilStarted(4)
        #expect(Set(gate.started) == ["c1", "c2", "w1", "w2"])
        #expect(await scheduler.statistics().lanes.map(\.queued).reduce(0, +) == 0)
        // A web job ending frees a worker the capped tenant may not take.
        let finishedBefore = events.count(.finished)
        gate.release("w1")
        await events.waitFor(finishedBefore + 1, .finished)
        #expect(await scheduler.statistics().lanes.map(\.running).reduce(0, +) == 3)
        #expect(gate.started.count == 4)
        // One of its own ending lets the next in, wherever a worker is free.
        gate.release("c1")
        await gate.waitUntilStarted(5)
        #expect(gate.started[4].hasPrefix("c"))
        gate.release("w2")
        // The rest, each as it starts: the capped tenant's next starts only
        // once one of its own has ended.
        var released: Set<String> = ["c1", "w1", "w2"]
        while released.count < 8 {
            if let next = gate.started.first(where: { !released.contains($0) }) {
                gate.release(next)
                released.insert(next)
            } else {
                await gate.waitUntilStarted(gate.started.count + 1)
            }
        }
        for task in tasks { _ = try await task.value }
        #expect(gate.started.filter { $0.hasPrefix("c") }.count == 6)
        #expect(gate.maxInFlight("cpu") + gate.maxInFlight("gpu") <= 4)
    }

    @Test func aJobWaitingPastItsTenantsCapLeavesAtOnceWhenCancelled() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 2)])
        let capped = JobTenant(name: "capped", maxInFlight: 1)
        let running = start(scheduler, job("first", tenant: capped))
        await gate.waitUntilStarted(1)
        let waiting = start(scheduler, job("second", tenant: capped))
        waiting.cancel()
        await #expect {
            try await waiting.value
        } throws: { code($0) == "cancelled" }
        // Its place is not kept: the next one starts once the first ends.
        let third = start(scheduler, job("third", tenant: capped))
        gate.release("first")
        await gate.waitUntilStarted(2)
        #expect(gate.started == ["first", "third"])
        gate.release("third")
        _ = try await running.value
        _ = try await third.value
    }
}
