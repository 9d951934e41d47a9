import CalotypeCore
import NIOConcurrencyHelpers
import Scheduler
import Testing

/// Submits a job in a task of its own, so the test can go on while it waits.
func start(_ scheduler: Scheduler, _ request: JobRequest) -> Task<JobResult, any Error> {
    Task { try await scheduler.submit(request) }
}

func job(
    _ name: String,
    _ placement: Placement = .auto,
    recipe: Recipe = plainRecipe,
    width: Int = 1000,
    height: Int? = nil,
    priority: Priority = .interactive,
    batch: BatchID? = nil,
    strict: Bool = false,
    tenant: JobTenant = .shared
) -> JobRequest {
    JobRequest(
        input: fakeImage(name, width: width, height: height ?? width),
        recipe: recipe,
        placement: placement,
        strictPlacement: strict,
        priority: priority,
        batch: batch,
        tenant: tenant
    )
}

@Suite("Scheduler: concurrency limits", .timeLimit(.minutes(1)))
struct ConcurrencyLimitTests {
    @Test func inFlightJobsNeverExceedTheLanesWorkers() async throws {
        let backend = CountingBackend()
        let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 3)], configuration: .init(queueLimit: 1000))
        try await withThrowingTaskGroup(of: JobResult.self) { group in
            for index in 0..<300 {
                group.addTask { try await scheduler.submit(job("\(index)")) }
            }
            for try await _ in group {}
        }
        #expect(backend.total == 300)
        #expect(backend.maxInFlight <= 3)
    }

    @Test func aFullLaneRunsExactlyItsWorkersAndQueuesTheRest() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 3)], observer: events.observer)
        let tasks = (0..<10).map { start(scheduler, job("\($0)")) }
        await gate.waitUntilStarted(3)
        await events.waitFor(7, .queued)
        #expect(gate.inFlight("cpu") == 3)
        let statistics = await scheduler.statistics()
        #expect(statistics.lanes[0].running == 3 && statistics.lanes[0].queued == 7)
        for index in 0..<10 {
            await gate.waitUntilStarted(min(index + 3, 10))
            gate.release(gate.started[index])
        }
        for task in tasks { _ = try await task.value }
        #expect(gate.maxInFlight("cpu") == 3)
        #expect(await scheduler.statistics().lanes[0].completed == 10)
    }
}

@Suite("Scheduler: placement", .timeLimit(.minutes(1)))
struct PlacementTests {
    /// A fast GPU (0.1 s a job) and a slower CPU (0.25 s), one worker each, on a frozen clock.
    func twoLanes(_ gate: Gate, gpu: GatedBackend? = nil, events: EventLog = EventLog(), clock: ManualClock = ManualClock()) -> Scheduler {
        Scheduler(
            lanes: [
                .init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1, prior: (0.25, 0)),
                .init(backend: gpu ?? GatedBackend("gpu", kind: .gpu, gate: gate), workers: 1, prior: (0.1, 0)),
            ],
            now: clock.now,
            observer: events.observer
        )
    }

    @Test func theFasterLaneIsPreferredAndTheSlowerTakesWorkWhenItIsBackedUp() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = twoLanes(gate, events: events)
        let first = start(scheduler, job("a"))
        await gate.waitUntilStarted(1)
        #expect(events.events.last?.lane == "gpu")
        let second = start(scheduler, job("b"))  // gpu: 0.1 left + 0.1 = 0.2 < 0.25
        await events.waitFor(1, .queued)
        #expect(events.events.last?.lane == "gpu")
        let third = start(scheduler, job("c"))  // gpu: 0.2 backlog + 0.1 = 0.3 > cpu 0.25
        await gate.waitUntilStarted(2)
        #expect(gate.started == ["a", "c"])
        #expect(events.events.last { $0.input == "c" }?.lane == "cpu")
        gate.release("a")
        await gate.waitUntilStarted(3)
        gate.release("b")
        gate.release("c")
        let results = [try await first.value, try await second.value, try await third.value]
        #expect(results.map(\.lane) == ["gpu", "gpu", "cpu"])
        #expect(results.allSatisfy { !$0.fallback })
    }

    @Test func recipesTheGPUCannotRunStayOnTheCPU() async throws {
        let gate = Gate()
        let gpu = GatedBackend("gpu", kind: .gpu, gate: gate, supported: [.resize, .grayscale])
        let scheduler = twoLanes(gate, gpu: gpu)
        #expect(try await runReleased(scheduler, job("blurred", recipe: try blurRecipe()), gate: gate).lane == "cpu")
    }

    @Test func imagesTheDeviceCannotHoldStayOnTheCPU() async throws {
        let gate = Gate()
        var gpu = GatedBackend("gpu", kind: .gpu, gate: gate)
        gpu.maximumPixels = 1_000_000
        let scheduler = twoLanes(gate, gpu: gpu)
        #expect(try await runReleased(scheduler, job("small", width: 500), gate: gate).lane == "gpu")
        #expect(try await runReleased(scheduler, job("big", width: 2000), gate: gate).lane == "cpu")
    }

    @Test func askingForAGPUWithoutOneFallsBackToTheCPU() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)])
        let result = try await runReleased(scheduler, job("x", .gpu), gate: gate)
        #expect(result.lane == "cpu" && result.fallback)
        #expect(await scheduler.statistics().placements["gpu->cpu (fallback)"] == 1)
    }

    @Test func strictPlacementRefusesInstead() async throws {
        let scheduler = Scheduler(lanes: [.init(backend: CountingBackend(), workers: 1)])
        await #expect {
            try await scheduler.submit(job("x", .gpu, strict: true))
        } throws: { error in
            guard case SchedulerError.noUsableBackend(let reason) = error else { return false }
            return reason.contains("gpu")
        }
    }

    @Test func aRecipeNoLaneSupportsIsRefusedWithTheReason() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate, supported: [.resize]), workers: 1)])
        await #expect {
            try await scheduler.submit(job("x", recipe: try blurRecipe()))
        } throws: { error in
            guard case SchedulerError.noUsableBackend(let reason) = error else { return false }
            return reason.contains("cannot run blur")
        }
    }
}

@Suite("Scheduler: faults", .timeLimit(.minutes(1)))
struct FaultTests {
    static let deviceFault = ProcessingError(.backendFault, "the device fell over")

    func lanes(_ gate: Gate, clock: ManualClock) -> Scheduler {
        Scheduler(
            lanes: [
                .init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1, prior: (0.25, 0)),
                .init(backend: GatedBackend("gpu", kind: .gpu, gate: gate), workers: 1, prior: (0.1, 0)),
            ],
            configuration: .init(quarantineCooldown: .seconds(30)),
            now: clock.now
        )
    }

    @Test func aDeviceFaultIsRetriedOnceOnTheCPU() async throws {
        let gate = Gate()
        let scheduler = lanes(gate, clock: ManualClock())
        let starts = NIOLockedValueBox<[String]>([])
        var request = job("x")
        request.onStarted = { lane in starts.withLockedValue { $0.append(lane) } }
        let task = start(scheduler, request)
        await gate.waitUntilStarted(1)
        gate.release("x", .fail(Self.deviceFault))
        await gate.waitUntilStarted(2)
        gate.release("x")
        let result = try await task.value
        #expect(result.lane == "cpu" && result.fallback && result.retried)
        #expect(await scheduler.statistics().lanes[1].retried == 1)
        #expect(starts.withLockedValue { $0 }.count == 1, "one started per job, retries included: \(starts.withLockedValue { $0 })")
    }

    @Test func anInputFaultIsNeverRetried() async throws {
        let gate = Gate()
        let scheduler = lanes(gate, clock: ManualClock())
        let task = start(scheduler, job("x"))
        await gate.waitUntilStarted(1)
        gate.release("x", .fail(ProcessingError(.corrupt, "truncated")))
        await #expect {
            try await task.value
        } throws: { error in
            guard case SchedulerError.failed(let failure) = error else { return false }
            return failure.code == .corrupt
        }
        #expect(gate.started == ["x"])
    }

    @Test func threeFaultsQuarantineTheLaneUntilItsCooldownDoublingOnRepeat() async throws {
        let gate = Gate()
        let clock = ManualClock()
        let scheduler = lanes(gate, clock: clock)
        // Asking for the GPU keeps the cost model out of this test: the GPU is
        // used whenever it is not quarantined.
        func failOnGPU(_ name: String) async throws {
            let task = start(scheduler, job(name, .gpu))
            await gate.waitUntilStarted(gate.started.count + 1)
            #expect(gate.inFlight("gpu") == 1)
            gate.release(name, .fail(Self.deviceFault))
            await gate.waitUntilStarted(gate.started.count + 1)  // the retry on the CPU
            gate.release(name)
            #expect(try await task.value.lane == "cpu")
        }
        for name in ["f1", "f2", "f3"] { try await failOnGPU(name) }
        var gpu = await scheduler.statistics().lanes[1]
        #expect(!gpu.healthy && gpu.quarantinedForSeconds == 30 && gpu.quarantines == 1)

        // Quarantined: the GPU is passed over and the job falls back.
        let fallback = try await runReleased(scheduler, job("meanwhile", .gpu), gate: gate)
        #expect(fallback.lane == "cpu" && fallback.fallback)

        // After the cooldown it is tried again; failing again doubles the cooldown.
        clock.advance(by: .seconds(31))
        #expect(await scheduler.statistics().lanes[1].healthy)
        for name in ["g1", "g2", "g3"] { try await failOnGPU(name) }
        gpu = await scheduler.statistics().lanes[1]
        #expect(gpu.quarantinedForSeconds == 60 && gpu.quarantines == 2)

        // A success after recovery resets the cooldown.
        clock.advance(by: .seconds(61))
        #expect(try await runReleased(scheduler, job("ok", .gpu), gate: gate).lane == "gpu")
        for name in ["h1", "h2", "h3"] { try await failOnGPU(name) }
        #expect(await scheduler.statistics().lanes[1].quarantinedForSeconds == 30)
    }
}

@Suite("Scheduler: backpressure, cancellation, deadlines", .timeLimit(.minutes(1)))
struct BackpressureTests {
    @Test func aSubmissionPastTheQueueBoundIsRefusedAtOnceWithARetryDelay() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(
            lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1, prior: (2.5, 0))],
            configuration: .init(queueLimit: 2),
            observer: events.observer
        )
        let running = start(scheduler, job("running"))
        await gate.waitUntilStarted(1)
        let queued = [start(scheduler, job("q1")), start(scheduler, job("q2"))]
        await events.waitFor(2, .queued)
        await #expect {
            try await scheduler.submit(job("refused"))
        } throws: { error in
            guard case SchedulerError.overloaded(let delay) = error else { return false }
            return delay >= .seconds(3)  // 2.5 s running + 2 x 2.5 s queued, rounded up
        }
        #expect(await scheduler.statistics().lanes[0].rejected == 1)
        gate.release("running")
        // q1 and q2 were submitted by two tasks, which a loaded machine may
        // start in either order (ThreadSanitizer's CI run queued q2 first):
        // release whichever runs.
        await gate.waitUntilStarted(2)
        gate.release(gate.started[1])
        await gate.waitUntilStarted(3)
        gate.release(gate.started[2])
        _ = try await running.value
        for task in queued { _ = try await task.value }
    }

    @Test func aCancelledQueuedJobLeavesTheQueueAtOnce() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
        let running = start(scheduler, job("running"))
        await gate.waitUntilStarted(1)
        let queued = start(scheduler, job("queued"))
        await events.waitFor(1, .queued)
        queued.cancel()
        await #expect {
            try await queued.value
        } throws: { code($0) == "cancelled" }
        #expect(await scheduler.statistics().lanes[0].queued == 0)
        gate.release("running")
        _ = try await running.value
        #expect(gate.started == ["running"], "the cancelled job never ran")
    }

    @Test func aCancelledRunningJobIsStoppedAndFreesItsWorker() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)])
        let running = start(scheduler, job("running"))
        await gate.waitUntilStarted(1)
        running.cancel()
        await #expect {
            try await running.value
        } throws: { code($0) == "cancelled" }
        #expect(gate.cancelled == ["running"])
        #expect(try await runReleased(scheduler, job("next"), gate: gate).lane == "cpu")
    }

    @Test func aJobPastItsDeadlineIsStopped() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)])
        var request = job("stuck")
        request.deadline = .milliseconds(50)
        await #expect {
            try await scheduler.submit(request)
        } throws: { error in
            if case SchedulerError.deadlineExceeded(let deadline) = error { return deadline == .milliseconds(50) }
            return false
        }
        #expect(gate.cancelled == ["stuck"], "the backend was told to stop")
    }

    @Test func stoppingReleasesWaitersAndRefusesNewWork() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
        let running = start(scheduler, job("running"))
        await gate.waitUntilStarted(1)
        let queued = start(scheduler, job("queued"))
        await events.waitFor(1, .queued)
        await scheduler.stopAccepting()
        await #expect { try await queued.value } throws: { code($0) == "shutting_down" }
        await #expect { try await scheduler.submit(job("late")) } throws: { code($0) == "shutting_down" }
        gate.release("running")
        _ = try await running.value
    }
}

@Suite("Scheduler: priorities and fairness", .timeLimit(.minutes(1)))
struct FairnessTests {
    func oneWorker(_ gate: Gate, _ events: EventLog) -> Scheduler {
        Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)], observer: events.observer)
    }

    @Test func batchesTakeTurnsSoALongOneDoesNotStarveAShortOne() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = oneWorker(gate, events)
        let blocker = start(scheduler, job("blocker"))
        await gate.waitUntilStarted(1)
        let long = await scheduler.makeBatchID()
        let short = await scheduler.makeBatchID()
        // Each job is queued before the next is submitted: tasks started
        // together arrive in whatever order the machine runs them (a loaded
        // one queued `short1, short3, short2`), and the order of arrival
        // within a batch is what this test reads.
        var tasks: [Task<JobResult, any Error>] = []
        for index in 1...6 {
            tasks.append(start(scheduler, job("long\(index)", priority: .batch, batch: long)))
            await events.waitFor(index, .queued)
        }
        for index in 1...3 {
            tasks.append(start(scheduler, job("short\(index)", priority: .batch, batch: short)))
            await events.waitFor(6 + index, .queued)
        }
        gate.release("blocker")
        for count in 2...10 {
            await gate.waitUntilStarted(count)
            gate.release(gate.started[count - 1])
        }
        _ = try await blocker.value
        for task in tasks { _ = try await task.value }
        // Within a batch the order of arrival is kept; the two batches alternate.
        let order = Array(gate.started.dropFirst())
        #expect(order.filter { $0.hasPrefix("short") } == ["short1", "short2", "short3"])
        let shortPositions = order.indices.filter { order[$0].hasPrefix("short") }
        #expect(shortPositions.last ?? 99 <= 5, "the short batch finishes within its first turns: \(order)")
    }

    @Test func singleImagesGoAheadOfBatchItems() async throws {
        let gate = Gate()
        let events = EventLog()
        let scheduler = oneWorker(gate, events)
        let blocker = start(scheduler, job("blocker"))
        await gate.waitUntilStarted(1)
        let batch = await scheduler.makeBatchID()
        var tasks = (1...3).map { start(scheduler, job("item\($0)", priority: .batch, batch: batch)) }
        await events.waitFor(3, .queued)
        tasks.append(start(scheduler, job("single")))
        await events.waitFor(4, .queued)
        gate.release("blocker")
        for count in 2...5 {
            await gate.waitUntilStarted(count)
            gate.release(gate.started[count - 1])
        }
        for task in tasks { _ = try await task.value }
        _ = try await blocker.value
        #expect(gate.started[1] == "single")
    }
}

@Suite("Scheduler: cost model", .timeLimit(.minutes(1)))
struct CostModelTests {
    @Test func serviceTimesTeachTheLanesModel() async throws {
        let gate = Gate()
        let clock = ManualClock()
        let scheduler = Scheduler(
            lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1, prior: (0.01, 0.01))],
            now: clock.now
        )
        for (index, megapixels) in [1, 4, 1, 4, 9, 1].enumerated() {
            let side = Int((Double(megapixels) * 1_000_000).squareRoot())
            let task = start(scheduler, job("\(index)", width: side))
            await gate.waitUntilStarted(index + 1)
            clock.advance(by: .milliseconds(100 + 50 * megapixels))  // 0.1 s + 0.05 s per megapixel
            gate.release("\(index)")
            _ = try await task.value
        }
        let model = try #require(await scheduler.statistics().lanes[0].costModel.first)
        #expect(model.observations == 6)
        #expect(abs(model.fixedSeconds - 0.1) < 0.02, "\(model)")
        #expect(abs(model.secondsPerMegapixel - 0.05) < 0.01, "\(model)")
        let lane = await scheduler.statistics().lanes[0]
        #expect(abs(lane.serviceSeconds.p50 - 0.15) < 1e-9)
        #expect(abs(lane.busySeconds - (0.6 + 0.05 * 20)) < 1e-9)
    }

    @Test func aLaneThatSlowsDownLosesWorkToTheOther() async throws {
        let gate = Gate()
        let clock = ManualClock()
        let events = EventLog()
        let scheduler = Scheduler(
            lanes: [
                .init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1, prior: (0.25, 0)),
                .init(backend: GatedBackend("gpu", kind: .gpu, gate: gate), workers: 1, prior: (0.1, 0)),
            ],
            now: clock.now,
            observer: events.observer
        )
        let slow = start(scheduler, job("slow"))
        await gate.waitUntilStarted(1)
        clock.advance(by: .seconds(1))  // the "fast" GPU turns out to take a second
        gate.release("slow")
        #expect(try await slow.value.lane == "gpu")
        #expect(try await runReleased(scheduler, job("after"), gate: gate).lane == "cpu")
        #expect(events.count(.started) == 2)
    }
}

@Suite("Scheduler: batches and statistics", .timeLimit(.minutes(1)))
struct BatchTests {
    @Test func aBatchYieldsEveryItemOnceTaggedWithItsIndex() async throws {
        let backend = CountingBackend()
        let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 2)])
        let inputs = (0..<20).map { fakeImage("image\($0)") }
        var seen: [Int] = []
        for await item in scheduler.batch(inputs, plan: BatchPlan(recipe: plainRecipe, parallelism: 4)) {
            let result = try item.outcome.get()
            #expect(String(decoding: result.image.bytes, as: UTF8.self) == "image\(item.index)")
            #expect(item.name == "image\(item.index)")
            seen.append(item.index)
        }
        #expect(seen.sorted() == Array(0..<20))
        #expect(backend.maxInFlight <= 2)
    }

    @Test func parallelismOneIsSequential() async throws {
        let backend = CountingBackend()
        let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 4)])
        var indices: [Int] = []
        for await item in scheduler.batch((0..<8).map { fakeImage("\($0)") }, plan: BatchPlan(recipe: plainRecipe, parallelism: 1)) {
            indices.append(item.index)
        }
        #expect(indices == Array(0..<8))
        #expect(backend.maxInFlight == 1)
    }

    @Test func oneBadItemFailsAlone() async throws {
        let gate = Gate()
        let scheduler = Scheduler(lanes: [.init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1)])
        let stream = scheduler.batch(
            [fakeImage("good1"), fakeImage("bad"), fakeImage("good2")],
            plan: BatchPlan(recipe: plainRecipe, parallelism: 1)
        )
        let collector = Task {
            var outcomes: [Int: Bool] = [:]
            for await item in stream {
                if case .success = item.outcome { outcomes[item.index] = true } else { outcomes[item.index] = false }
            }
            return outcomes
        }
        await gate.waitUntilStarted(1)
        gate.release("good1")
        await gate.waitUntilStarted(2)
        gate.release("bad", .fail(ProcessingError(.corrupt, "bad")))
        await gate.waitUntilStarted(3)
        gate.release("good2")
        #expect(await collector.value == [0: true, 1: false, 2: true])
    }

    @Test func statisticsCountWhatHappened() async throws {
        let backend = CountingBackend()
        let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 2)])
        for index in 0..<5 { _ = try await scheduler.submit(job("\(index)")) }
        let statistics = await scheduler.statistics()
        let lane = statistics.lanes[0]
        #expect(lane.completed == 5 && lane.failed == 0 && lane.workers == 2 && lane.device == "cpu")
        #expect(lane.serviceSeconds.count == 5 && lane.queueWaitSeconds.count == 5)
        #expect(lane.costModel.first?.recipe == "*" && lane.costModel.first?.observations == 5)
        #expect(statistics.placements["auto->counting"] == 5)
    }
}

@Suite("Scheduler: calibration", .timeLimit(.minutes(1)))
struct CalibrationTests {
    @Test func calibrationSeedsEveryLaneThatCanRunTheRecipe() async throws {
        let gate = Gate()
        let clock = ManualClock()
        let scheduler = Scheduler(
            lanes: [
                .init(backend: CountingBackend(), workers: 1),
                .init(backend: GatedBackend("gpu", kind: .gpu, gate: gate, supported: [.grayscale]), workers: 1),
                .init(backend: GatedBackend("blur-only", kind: .gpu, gate: gate, supported: [.blur]), workers: 1),
            ],
            now: clock.now
        )
        let calibration = Task { await scheduler.calibrate(with: fakeImage("sample"), recipe: plainRecipe, rounds: 2) }
        for run in 1...3 {
            await gate.waitUntilStarted(run)
            clock.advance(by: .milliseconds(40))
            gate.release("sample")
        }
        await calibration.value
        let lanes = await scheduler.statistics().lanes
        #expect(lanes[0].costModel[0].observations == 2)
        #expect(lanes[1].costModel[0].observations == 2, "the warm-up run is not counted")
        #expect(lanes[2].costModel[0].observations == 0)
        #expect(gate.started.count == 3)
    }
}
