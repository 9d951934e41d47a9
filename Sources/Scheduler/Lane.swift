import CalotypeCore
import CoreMetrics

/// One backend instance and the jobs it is running and owes: the unit of
/// placement and of concurrency (Triton calls it an instance group).
struct Lane {
    /// A job waiting for one of this lane's workers.
    struct Waiter {
        let id: UInt64
        let input: String?
        let estimate: Double
        let tenant: String
        let resume: CheckedContinuation<Admission, Never>
    }

    /// A job one of this lane's workers is running.
    struct Running {
        let estimate: Double
        let started: ContinuousClock.Instant
        let tenant: String
    }

    let index: Int
    let backend: any ImageBackend
    let workers: Int
    var queue = FairQueue<Waiter>()
    /// Sum of the estimates of the queued jobs, in seconds.
    var queuedSeconds = 0.0
    var running: [UInt64: Running] = [:]

    var models: [String: CostModel] = [:]
    var overallModel: CostModel

    var consecutiveFaults = 0
    var quarantinedUntil: ContinuousClock.Instant?
    var nextCooldown: Duration

    /// What `/stats` shows of the lane's past, and `metrics` what
    /// `/metrics` does: both fed by `record` and `ran`, one call per event.
    private(set) var counters = LaneCounters()
    private let metrics: LaneMetrics

    init(index: Int, backend: any ImageBackend, workers: Int, metrics: any MetricsFactory, prior: CostModel, cooldown: Duration) {
        self.metrics = LaneMetrics(lane: backend.name, kind: backend.kind, factory: metrics)
        self.index = index
        self.backend = backend
        self.workers = workers
        self.overallModel = prior
        self.nextCooldown = cooldown
    }

    /// A job's outcome on this lane, counted once for both.
    mutating func record(_ outcome: LaneMetrics.Outcome) {
        switch outcome {
        case .completed: counters.completed += 1
        case .failed: counters.failed += 1
        case .retried: counters.retried += 1
        case .rejected: counters.rejected += 1
        case .cancelled: counters.cancelled += 1
        }
        metrics.count(outcome)
    }

    /// A job that ran: its wait for a worker and the worker's time on it
    /// (service times are kept for completed jobs only).
    mutating func ran(queueWait: Duration, service: Duration, completed: Bool) {
        counters.busySeconds += service.seconds
        counters.queueWaits.record(queueWait.seconds)
        counters.queueWaitHistogram.record(queueWait.seconds)
        if completed {
            counters.serviceTimes.record(service.seconds)
            counters.serviceHistogram.record(service.seconds)
        }
        metrics.ran(queueWait: queueWait, service: service, completed: completed)
    }

    mutating func recordQuarantine() { counters.quarantines += 1 }

    /// A job placed here, as asked or as a fallback (only `/metrics`
    /// counts these by lane; `/stats` by placement asked).
    func recordPlacement(fallback: Bool) { metrics.placed(fallback: fallback) }

    var name: String { backend.name }
    var kind: BackendKind { backend.kind }
    var hasFreeWorker: Bool { running.count < workers }

    func isQuarantined(at now: ContinuousClock.Instant) -> Bool {
        quarantinedUntil.map { now < $0 } ?? false
    }

    /// Expected service time of a job on this lane.
    func estimate(_ profile: JobProfile) -> Double {
        if let model = models[profile.recipeKey], model.observations >= 2 {
            return model.estimate(megapixels: profile.megapixels)
        }
        return overallModel.estimate(megapixels: profile.megapixels)
    }

    /// When a job placed now would finish, in seconds from now: the wait for
    /// a worker (the backlog spread over the workers) plus its own time.
    func expectedCompletion(of profile: JobProfile, at now: ContinuousClock.Instant) -> Double {
        let ownTime = estimate(profile)
        guard !(hasFreeWorker && queue.isEmpty) else { return ownTime }
        let remainingRunning = running.values.reduce(0.0) { sum, job in
            sum + max(job.estimate - (now - job.started).seconds, 0)
        }
        return (remainingRunning + queuedSeconds) / Double(workers) + ownTime
    }

    /// A recipe's first job starts its model from the lane's overall fit as
    /// the prior, with no observations of its own: each job counts once.
    mutating func learn(_ profile: JobProfile, seconds: Double) {
        let (fixed, perMegapixel) = overallModel.coefficients
        models[profile.recipeKey, default: CostModel(fixedSeconds: fixed, secondsPerMegapixel: perMegapixel)]
            .observe(megapixels: profile.megapixels, seconds: seconds)
        overallModel.observe(megapixels: profile.megapixels, seconds: seconds)
    }
}

/// What the scheduler knows of a job before it runs.
struct JobProfile: Sendable {
    /// Every frame decoded: one for a still image, all of an animation
    /// whose output keeps them.
    let megapixels: Double
    let size: ImageSize?
    /// The frames the job decodes: an animation's, when its output keeps
    /// them and `limits` allow animations; else 1.
    let frames: Int
    /// Jobs with the same key cost alike: the operations and the output format.
    let recipeKey: String

    init(_ request: JobRequest, limits: ImageLimits = ImageLimits()) {
        size = ImageSize.sniff(request.input.bytes)
        let animated = request.recipe.output.mayKeepAnimation && limits.keepsAnimations
        frames = animated ? min(size?.frames ?? 1, ImageLimits.animationFramesCeiling) : 1
        megapixels = ImageInput.estimatedMegapixels(size: size, encodedBytes: request.input.bytes.count) * Double(frames)
        recipeKey = request.recipe.operations.map(\.kind.rawValue).joined(separator: "+") + ">" + request.recipe.output.format.rawValue
    }
}

/// The answer a waiting job gets.
enum Admission: Sendable {
    /// A worker is the job's: run it.
    case granted
    /// The lane was quarantined or removed: place the job again.
    case replace
    /// The job was cancelled while it waited.
    case cancelled
    /// The scheduler is shutting down.
    case shutDown
}

/// Running totals for statistics.
struct LaneCounters: Sendable {
    var completed = 0
    var failed = 0
    var retried = 0
    var rejected = 0
    var cancelled = 0
    var quarantines = 0
    var busySeconds = 0.0
    var queueWaits = LatencyWindow()
    var serviceTimes = LatencyWindow()
    var queueWaitHistogram = Histogram()
    var serviceHistogram = Histogram()
}

/// Cumulative latency buckets, as Prometheus histograms count them.
public struct Histogram: Sendable, Codable, Hashable {
    /// Upper bounds in seconds; an implicit +Inf bucket follows.
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// Observations at or below each bound (cumulative), in `bounds` order.
    public private(set) var cumulativeCounts = [Int](repeating: 0, count: Histogram.bounds.count)
    public private(set) var count = 0
    public private(set) var sum = 0.0

    mutating func record(_ seconds: Double) {
        count += 1
        sum += seconds
        for (index, bound) in Self.bounds.enumerated() where seconds <= bound {
            cumulativeCounts[index] += 1
        }
    }
}

/// The most recent durations, for percentiles without unbounded memory.
struct LatencyWindow: Sendable {
    static let capacity = 1024
    private var samples: [Double] = []
    private var next = 0

    mutating func record(_ seconds: Double) {
        if samples.count < Self.capacity {
            samples.append(seconds)
        } else {
            samples[next] = seconds
            next = (next + 1) % Self.capacity
        }
    }

    var percentiles: Percentiles {
        guard !samples.isEmpty else { return Percentiles(count: 0, p50: 0, p95: 0, p99: 0) }
        let sorted = samples.sorted()
        func at(_ fraction: Double) -> Double {
            sorted[min(sorted.count - 1, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)]
        }
        return Percentiles(count: sorted.count, p50: at(0.50), p95: at(0.95), p99: at(0.99))
    }
}
