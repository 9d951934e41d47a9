import CalotypeCore
import CoreMetrics

/// One lane's metrics, recorded through swift-metrics into whatever backend
/// the process chose (`calotype serve`: Prometheus behind `/metrics`), under
/// the names and labels `/metrics` has always had, so dashboards keep working.
struct LaneMetrics: Sendable {
    /// The outcomes `calotype_jobs_total` counts.
    enum Outcome: String, CaseIterable, Sendable {
        case completed, failed, retried, rejected, cancelled
    }

    private let jobs: [Outcome: Counter]
    /// Jobs placed on the lane, as asked or as a fallback (another kind of
    /// lane could not take them).
    private let placed: Counter
    private let placedAsFallback: Counter
    private let busySeconds: FloatingPointCounter
    private let serviceTime: Timer
    private let queueWait: Timer

    init(lane: String, kind: BackendKind, factory: any MetricsFactory) {
        jobs = Dictionary(
            uniqueKeysWithValues: Outcome.allCases.map { outcome in
                (outcome, Counter(label: SchedulerMetrics.jobs, dimensions: [("lane", lane), ("outcome", outcome.rawValue)], factory: factory))
            }
        )
        placed = Counter(label: SchedulerMetrics.placements, dimensions: [("lane", lane), ("fallback", "false")], factory: factory)
        placedAsFallback = Counter(label: SchedulerMetrics.placements, dimensions: [("lane", lane), ("fallback", "true")], factory: factory)
        busySeconds = FloatingPointCounter(
            label: SchedulerMetrics.busySeconds,
            dimensions: [("lane", lane), ("kind", kind.rawValue)],
            factory: factory
        )
        serviceTime = Timer(label: SchedulerMetrics.serviceSeconds, dimensions: [("lane", lane)], factory: factory)
        queueWait = Timer(label: SchedulerMetrics.queueWaitSeconds, dimensions: [("lane", lane)], factory: factory)
    }

    func count(_ outcome: Outcome) {
        jobs[outcome]?.increment()
    }

    func placed(fallback: Bool) {
        (fallback ? placedAsFallback : placed).increment()
    }

    /// A job that ran: its wait for a worker, and the worker's time on it.
    func ran(queueWait wait: Duration, service: Duration, completed: Bool) {
        queueWait.recordInterval(wait)
        busySeconds.increment(by: service.seconds)
        if completed { serviceTime.recordInterval(service) }
    }
}

/// The names of the scheduler's metrics, for a backend that configures them
/// (histogram buckets) and for tests.
public enum SchedulerMetrics {
    public static let jobs = "calotype_jobs_total"
    public static let placements = "calotype_placements_total"
    public static let busySeconds = "calotype_lane_busy_seconds_total"
    /// Histograms in seconds, with `histogramBuckets`.
    public static let serviceSeconds = "calotype_job_service_seconds"
    public static let queueWaitSeconds = "calotype_job_queue_wait_seconds"

    /// The buckets of the two histograms: from 5 ms (a thumbnail) to a
    /// minute (past any deadline).
    public static let histogramBuckets: [Duration] = Histogram.bounds.map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
}

extension Timer {
    func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
