import CalotypeCore
import CoreMetrics
import Logging

/// Places every job on a backend lane, keeps each lane within its workers,
/// queues what cannot start yet (bounded), retries device faults on the CPU
/// and quarantines failing devices.
///
/// Placement follows StarPU's `dmda` idea: each job goes to the lane where it
/// is expected to *finish* first, counting the lane's backlog and the job's
/// cost there, from cost models learnt as jobs finish. Work runs in the
/// submitting task (so Swift cancellation reaches it), on the backend's own
/// threads; the scheduler only decides where and when.
public actor Scheduler {
    public struct Configuration: Sendable {
        /// Most jobs waiting for a worker, over all lanes; past it submissions are refused.
        public var queueLimit: Int
        /// How long a job may take, queue included, unless it says otherwise
        /// (default 10 s, as image proxies do: imgproxy's `IMGPROXY_TIMEOUT`).
        /// Past it the job is stopped, within a libvips strip.
        public var jobTimeout: Duration
        /// Consecutive device faults that quarantine a GPU lane.
        public var faultsBeforeQuarantine: Int
        /// The first quarantine's length; it doubles each time the lane fails again
        /// without a success in between.
        public var quarantineCooldown: Duration
        public var maximumCooldown: Duration
        /// What an input's header may declare (the backends' own limits): a
        /// job whose header declares more is refused before its decoded
        /// size is counted or its cost estimated, so a 66-byte file that
        /// claims 2^30 x 2^30 pixels costs nothing.
        public var inputLimits: ImageLimits

        public init(
            queueLimit: Int = 256,
            jobTimeout: Duration = .seconds(10),
            faultsBeforeQuarantine: Int = 3,
            quarantineCooldown: Duration = .seconds(30),
            maximumCooldown: Duration = .seconds(600),
            inputLimits: ImageLimits = ImageLimits()
        ) {
            self.inputLimits = inputLimits
            self.queueLimit = queueLimit
            self.jobTimeout = jobTimeout
            self.faultsBeforeQuarantine = faultsBeforeQuarantine
            self.quarantineCooldown = quarantineCooldown
            self.maximumCooldown = maximumCooldown
        }
    }

    /// A backend and how many jobs it may run at once.
    public struct LaneSpecification: Sendable {
        public var backend: any ImageBackend
        public var workers: Int
        /// Expected cost before any job has run: fixed seconds and seconds per megapixel.
        public var prior: (fixedSeconds: Double, secondsPerMegapixel: Double)

        public init(backend: any ImageBackend, workers: Int, prior: (fixedSeconds: Double, secondsPerMegapixel: Double)? = nil) {
            self.backend = backend
            self.workers = max(1, workers)
            self.prior = prior ?? (backend.kind == .gpu ? (0.004, 0.003) : (0.010, 0.010))
        }
    }

    /// What happened to a job, for metrics and for tests that must know a
    /// job is queued or running before they go on.
    public struct Event: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            case queued, started, finished, refused
            /// A queued job was cancelled and left the queue without running.
            case withdrawn
        }
        public let kind: Kind
        public let lane: String
        public let job: UInt64
        /// The job's input name, when it has one.
        public let input: String?
    }

    public nonisolated let configuration: Configuration
    /// Device faults retried on the CPU and lanes quarantined are written here.
    private let logger: Logger
    /// What admitted work may hold: the server admits request bodies
    /// against it, and each submitted job counts its decoded pixels in it.
    public nonisolated let memoryBudget: MemoryBudget
    var lanes: [Lane]
    private let observer: (@Sendable (Event) -> Void)?
    private let now: @Sendable () -> ContinuousClock.Instant
    private let started: ContinuousClock.Instant
    private var nextJobID: UInt64 = 1
    private var nextBatchID: UInt64 = 1
    /// Capped tenants' jobs at once, and the jobs waiting past their caps.
    private var tenantAdmission = TenantAdmission()
    /// Jobs started so far, and each tenant's count when its last one
    /// started: the tenant whose turn is longest past goes next.
    private var startCount: UInt64 = 0
    private var tenantLastStart: [String: UInt64] = [:]
    private var accepting = true
    var placements: [String: Int] = [:]

    /// Workers of every lane together: the jobs that can run at once.
    public nonisolated let workerCount: Int

    /// - Parameters:
    ///   - now: the clock that quarantines, queue waits and service times are
    ///     measured on; tests drive it by hand.
    ///   - observer: told of every job's progress, synchronously; keep it cheap.
    ///   - memoryBudget: what admitted work may hold (unlimited unless given).
    ///   - metrics: where the lanes' job counts and latencies are recorded
    ///     (swift-metrics; the process's factory unless given).
    ///   - logger: where a device fault's retry on the CPU and a lane's
    ///     quarantine are written (each is counted in the metrics too).
    public init(
        lanes: [LaneSpecification],
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        observer: (@Sendable (Event) -> Void)? = nil,
        memoryBudget: MemoryBudget = .unlimited,
        metrics: any MetricsFactory = MetricsSystem.factory,
        logger: Logger = Logger(label: "calotype.scheduler")
    ) {
        self.logger = logger
        self.configuration = configuration
        self.workerCount = lanes.map(\.workers).reduce(0, +)
        self.memoryBudget = memoryBudget
        self.now = now
        self.observer = observer
        self.started = now()
        self.lanes = lanes.enumerated().map { index, lane in
            Lane(
                index: index,
                backend: lane.backend,
                workers: lane.workers,
                metrics: metrics,
                prior: CostModel(fixedSeconds: lane.prior.fixedSeconds, secondsPerMegapixel: lane.prior.secondsPerMegapixel),
                cooldown: configuration.quarantineCooldown
            )
        }
    }

    // MARK: Submitting

    /// Runs one job and returns its result. Cancelling the calling task
    /// cancels the job: a queued job leaves the queue at once, a running one is
    /// stopped.
    public nonisolated func submit(_ request: JobRequest) async throws(SchedulerError) -> JobResult {
        let deadline = request.deadline ?? configuration.jobTimeout
        let profile = JobProfile(request, limits: configuration.inputLimits)
        if let size = profile.size {
            do {
                try configuration.inputLimits.checkDeclared(
                    width: size.width,
                    height: size.height,
                    frames: profile.frames,
                    label: request.input.name.map { "'\($0)'" } ?? "the input"
                )
            } catch {
                throw .failed(error)
            }
        }
        // Counted, never refused: the request carrying it was admitted, and
        // its header is within the pixel limit.
        let decoded = memoryBudget.commit(MemoryBudget.decodedEstimate(megapixels: profile.megapixels))
        defer { decoded.release() }
        let outcome: Result<JobResult, SchedulerError> = await withTaskGroup(of: Result<JobResult, SchedulerError>?.self) { group in
            group.addTask {
                do throws(SchedulerError) {
                    return .success(try await self.execute(request, profile: profile))
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // The deadline: if this wins, the job is cancelled.
                try? await Task.sleep(for: deadline)
                return Task.isCancelled ? nil : .failure(.deadlineExceeded(deadline))
            }
            var first: Result<JobResult, SchedulerError>?
            while first == nil, let next = await group.next() {
                first = next
            }
            group.cancelAll()
            return first ?? .failure(.cancelled)
        }
        if Task.isCancelled, case .failure = outcome { throw .cancelled }
        return try outcome.get()
    }

    /// Places, waits for a worker, runs; retries once on the CPU after a device fault.
    private func execute(_ request: JobRequest, profile: JobProfile) async throws(SchedulerError) -> JobResult {
        try await enterTenant(request)
        // Whatever the end (a retry on the CPU is the same job).
        defer { tenantAdmission.leave(request.tenant) }
        var excluded: Set<Int> = []
        var retried = false
        var forceFallback = false
        while true {
            let ticket = try await admit(request, profile: profile, excluding: excluded, fallback: forceFallback)
            defer { notify(.finished, lane: ticket.lane, job: ticket.id, input: request.input.name) }
            let backend = lanes[ticket.lane].backend
            if !retried { request.onStarted?(backend.name) }  // Once per job: a retry is the same job.
            let start = now()
            do {
                let image = try await backend.process(request.input, recipe: request.recipe)
                let service = now() - start
                finish(ticket, profile: profile, service: service, outcome: .success)
                return JobResult(
                    image: image,
                    lane: backend.name,
                    kind: backend.kind,
                    fallback: ticket.fallback || retried,
                    retried: retried,
                    queueWait: ticket.queueWait,
                    serviceTime: service
                )
            } catch {
                let service = now() - start
                let cancelled = error.code == .cancelled || Task.isCancelled
                finish(ticket, profile: profile, service: service, outcome: cancelled ? .cancelled : .failure(error))
                if cancelled { throw .cancelled }
                let canRetry = error.blame == .backend && backend.kind == .gpu && !retried && !request.strictPlacement
                guard canRetry else { throw .failed(error) }
                lanes[ticket.lane].record(.retried)
                logger.warning(
                    "a device fault: the job runs again on the CPU",
                    metadata: ["lane": "\(backend.name)", "input": "\(request.input.name ?? "")", "error": "\(error)"]
                )
                retried = true
                excluded.insert(ticket.lane)
                forceFallback = true
            }
        }
    }

    /// What a job holds while it runs: a worker of `lane`.
    struct Ticket {
        let id: UInt64
        let lane: Int
        let fallback: Bool
        let queueWait: Duration
    }

    /// Chooses a lane and waits for one of its workers.
    private func admit(
        _ request: JobRequest,
        profile: JobProfile,
        excluding excluded: Set<Int>,
        fallback: Bool
    ) async throws(SchedulerError) -> Ticket {
        let arrived = now()
        while true {
            guard accepting else { throw .shutDown }
            if Task.isCancelled { throw .cancelled }
            let decision = try place(request, profile: profile, excluding: excluded)
            let index = decision.lane
            let estimate = lanes[index].estimate(profile)
            let id = nextJobID
            nextJobID += 1
            let tenant = request.tenant.name

            if lanes[index].hasFreeWorker && lanes[index].queue.isEmpty {
                lanes[index].running[id] = Lane.Running(estimate: estimate, started: now(), tenant: tenant)
                countStart(of: tenant)
                notify(.started, lane: index, job: id, input: request.input.name)
                recordPlacement(request.placement, lane: index, fallback: decision.fallback || fallback)
                return Ticket(id: id, lane: index, fallback: decision.fallback || fallback, queueWait: now() - arrived)
            }
            let queued = lanes.reduce(0) { $0 + $1.queue.count } + tenantAdmission.waitingCount
            guard queued < configuration.queueLimit else {
                lanes[index].record(.rejected)
                notify(.refused, lane: index, job: id, input: request.input.name)
                throw .overloaded(retryAfter: retryDelay(for: index))
            }

            let admission = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Admission, Never>) in
                    if Task.isCancelled {
                        continuation.resume(returning: .cancelled)
                        return
                    }
                    lanes[index].queue.append(
                        Lane.Waiter(id: id, input: request.input.name, estimate: estimate, tenant: tenant, resume: continuation),
                        priority: request.priority,
                        batch: request.batch,
                        tenant: tenant
                    )
                    lanes[index].queuedSeconds += estimate
                    notify(.queued, lane: index, job: id, input: request.input.name)
                }
            } onCancel: {
                Task { await self.withdraw(id, from: index) }
            }
            switch admission {
            case .granted:
                recordPlacement(request.placement, lane: index, fallback: decision.fallback || fallback)
                return Ticket(id: id, lane: index, fallback: decision.fallback || fallback, queueWait: now() - arrived)
            case .replace:
                continue
            case .cancelled:
                lanes[index].record(.cancelled)
                throw .cancelled
            case .shutDown:
                throw .shutDown
            }
        }
    }

    /// Waits while the job's tenant has its `maxInFlight` jobs admitted; the
    /// wait counts toward the queue limit, and leaves at once on cancellation.
    private func enterTenant(_ request: JobRequest) async throws(SchedulerError) {
        guard !tenantAdmission.enter(request.tenant) else { return }
        let queued = lanes.reduce(0) { $0 + $1.queue.count } + tenantAdmission.waitingCount
        guard queued < configuration.queueLimit else { throw .overloaded(retryAfter: .seconds(1)) }
        let id = nextJobID
        nextJobID += 1
        let tenant = request.tenant
        let admitted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                if Task.isCancelled {
                    continuation.resume(returning: false)
                    return
                }
                tenantAdmission.wait(tenant, id: id, resume: continuation)
            }
        } onCancel: {
            Task { await self.withdrawFromTenant(id, of: tenant) }
        }
        guard admitted else { throw accepting ? .cancelled : .shutDown }
    }

    private func withdrawFromTenant(_ id: UInt64, of tenant: JobTenant) {
        tenantAdmission.withdraw(id, of: tenant)
    }

    /// Takes a cancelled job out of its lane's queue, if it is still there.
    private func withdraw(_ id: UInt64, from index: Int) {
        guard let waiter = lanes[index].queue.remove(where: { $0.id == id }) else { return }
        lanes[index].queuedSeconds -= waiter.estimate
        notify(.withdrawn, lane: index, job: id, input: waiter.input)
        waiter.resume.resume(returning: .cancelled)
    }

    private enum Outcome {
        case success
        case failure(ProcessingError)
        case cancelled

        var isSuccess: Bool {
            if case .success = self { true } else { false }
        }
    }

    /// Frees the worker, learns from the job, counts faults, and hands the
    /// worker to the next waiting job.
    private func finish(_ ticket: Ticket, profile: JobProfile, service: Duration, outcome: Outcome) {
        let index = ticket.lane
        lanes[index].running[ticket.id] = nil
        lanes[index].ran(queueWait: ticket.queueWait, service: service, completed: outcome.isSuccess)
        switch outcome {
        case .success:
            lanes[index].record(.completed)
            lanes[index].learn(profile, seconds: service.seconds)
            lanes[index].consecutiveFaults = 0
            lanes[index].nextCooldown = configuration.quarantineCooldown
        case .failure(let error):
            lanes[index].record(.failed)
            if error.code == .backendFault || error.code == .internal {
                recordFault(on: index)
            } else if error.blame == .input {
                // The input's fault: the lane worked as it should.
                lanes[index].consecutiveFaults = 0
            }
        case .cancelled:
            lanes[index].record(.cancelled)
        }
        dispatch(index)
    }

    private func countStart(of tenant: String) {
        startCount += 1
        tenantLastStart[tenant] = startCount
    }

    /// Gives free workers of lane `index` to its waiting jobs: the tenant
    /// whose turn is longest past first, then in its queue's order.
    private func dispatch(_ index: Int) {
        while lanes[index].hasFreeWorker,
            let waiter = lanes[index].queue.popFirst(lastStart: { self.tenantLastStart[$0] ?? 0 })
        {
            lanes[index].queuedSeconds -= waiter.estimate
            lanes[index].running[waiter.id] = Lane.Running(estimate: waiter.estimate, started: now(), tenant: waiter.tenant)
            countStart(of: waiter.tenant)
            notify(.started, lane: index, job: waiter.id, input: waiter.input)
            waiter.resume.resume(returning: .granted)
        }
    }

    private func notify(_ kind: Event.Kind, lane: Int, job: UInt64, input: String?) {
        observer?(Event(kind: kind, lane: lanes[lane].name, job: job, input: input))
    }

    private func recordFault(on index: Int) {
        guard lanes[index].kind == .gpu else { return }  // The CPU lane is the last resort: never quarantined.
        lanes[index].consecutiveFaults += 1
        guard lanes[index].consecutiveFaults >= configuration.faultsBeforeQuarantine else { return }
        let cooldown = lanes[index].nextCooldown
        lanes[index].quarantinedUntil = now() + cooldown
        lanes[index].nextCooldown = min(cooldown * 2, configuration.maximumCooldown)
        lanes[index].consecutiveFaults = 0
        lanes[index].recordQuarantine()
        logger.error(
            "a lane is quarantined after repeated device faults",
            metadata: ["lane": "\(lanes[index].name)", "seconds": "\(Int(cooldown.seconds))", "waiting_jobs_moved": "\(lanes[index].queue.count)"]
        )
        // Its waiting jobs go elsewhere.
        for waiter in lanes[index].queue.removeAll() {
            waiter.resume.resume(returning: .replace)
        }
        lanes[index].queuedSeconds = 0
    }

    /// A suggested wait before retrying a refused job: about when the lane
    /// it would have gone to frees a worker.
    private func retryDelay(for index: Int) -> Duration {
        let lane = lanes[index]
        let backlog = (lane.queuedSeconds + lane.running.values.reduce(0) { $0 + $1.estimate }) / Double(lane.workers)
        return .seconds(max(1, Int(backlog.rounded(.up))))
    }

    private func recordPlacement(_ placement: Placement, lane: Int, fallback: Bool) {
        placements["\(placement.rawValue)->\(lanes[lane].name)\(fallback ? " (fallback)" : "")", default: 0] += 1
        lanes[lane].recordPlacement(fallback: fallback)
    }

    // MARK: Placement

    struct Decision {
        let lane: Int
        /// The job runs on a kind of lane other than the one asked for.
        let fallback: Bool
    }

    /// Chooses the lane where the job is expected to finish first, among those
    /// that can run it.
    func place(_ request: JobRequest, profile: JobProfile, excluding excluded: Set<Int>) throws(SchedulerError) -> Decision {
        let instant = now()
        let able = lanes.indices.filter { index in
            let lane = lanes[index]
            return !excluded.contains(index) && !lane.isQuarantined(at: instant)
                && lane.backend.supports(request.recipe).isSupported
                && (profile.size.map(lane.backend.canHold) ?? true)
        }
        let wanted: [Int]
        switch request.placement {
        case .auto: wanted = able
        case .cpu: wanted = able.filter { lanes[$0].kind == .cpu }
        case .gpu: wanted = able.filter { lanes[$0].kind == .gpu }
        }
        if let best = earliestCompletion(among: wanted, profile: profile, at: instant) {
            return Decision(lane: best, fallback: !excluded.isEmpty && request.placement != .cpu)
        }
        if request.strictPlacement || request.placement == .auto {
            throw .noUsableBackend(explainRefusal(request, excluded: excluded, at: instant))
        }
        // Asked for one kind, none can take it: any other lane, marked as a fallback.
        guard let other = earliestCompletion(among: able, profile: profile, at: instant) else {
            throw .noUsableBackend(explainRefusal(request, excluded: excluded, at: instant))
        }
        return Decision(lane: other, fallback: true)
    }

    private func earliestCompletion(among candidates: [Int], profile: JobProfile, at instant: ContinuousClock.Instant) -> Int? {
        candidates.min { lanes[$0].expectedCompletion(of: profile, at: instant) < lanes[$1].expectedCompletion(of: profile, at: instant) }
    }

    private func explainRefusal(_ request: JobRequest, excluded: Set<Int>, at instant: ContinuousClock.Instant) -> String {
        let kinds: Set<BackendKind>? =
            switch request.placement {
            case .auto: nil
            case .cpu: [.cpu]
            case .gpu: [.gpu]
            }
        let reasons = lanes.indices.compactMap { index -> String? in
            let lane = lanes[index]
            if let kinds, !kinds.contains(lane.kind) { return nil }
            if excluded.contains(index) { return "\(lane.name) already failed this job" }
            if lane.isQuarantined(at: instant) { return "\(lane.name) is quarantined after repeated device faults" }
            if case .unsupported(let reason) = lane.backend.supports(request.recipe) { return reason }
            return "\(lane.name) cannot hold an image this large"
        }
        let asked = request.placement == .auto ? "any backend" : "a \(request.placement.rawValue) backend"
        return reasons.isEmpty ? "no \(request.placement.rawValue) backend is configured" : "\(asked) was needed: " + reasons.joined(separator: "; ")
    }

    // MARK: Calibration

    /// Seeds every lane's cost model by running `sample` on it `rounds` times
    /// after one warm-up run (which builds caches, kernels, ...). Each run
    /// takes one of the lane's workers like any job, so limits still hold.
    /// Call it when the engine starts, before traffic.
    public func calibrate(with sample: ImageInput, recipe: Recipe, rounds: Int = 2) async {
        let profile = JobProfile(JobRequest(input: sample, recipe: recipe))
        for index in lanes.indices where lanes[index].backend.supports(recipe).isSupported {
            for round in 0...max(rounds, 1) {
                // Traffic arrived meanwhile: calibration is not worth waiting for.
                guard lanes[index].hasFreeWorker else { return }
                let id = nextJobID
                nextJobID += 1
                lanes[index].running[id] = Lane.Running(estimate: lanes[index].estimate(profile), started: now(), tenant: "")
                let start = now()
                let succeeded = (try? await lanes[index].backend.process(sample, recipe: recipe)) != nil
                let elapsed = now() - start
                lanes[index].running[id] = nil
                dispatch(index)
                if succeeded && round > 0 {
                    lanes[index].learn(profile, seconds: elapsed.seconds)
                }
            }
        }
    }

    // MARK: Batches and lifecycle

    /// A new identity for a batch, so its items share lanes fairly with other batches.
    public func makeBatchID() -> BatchID {
        defer { nextBatchID += 1 }
        return BatchID(nextBatchID)
    }

    /// Refuses new jobs and releases every waiting one with `shutDown`;
    /// running jobs finish.
    public func stopAccepting() {
        accepting = false
        tenantAdmission.releaseAll()
        for index in lanes.indices {
            for waiter in lanes[index].queue.removeAll() {
                waiter.resume.resume(returning: .shutDown)
            }
            lanes[index].queuedSeconds = 0
        }
    }

    var uptime: Duration { now() - started }
    var isAccepting: Bool { accepting }
    var clockNow: ContinuousClock.Instant { now() }
}
