import CalotypeCore
import Foundation

/// A snapshot of the scheduler for `/stats`, health checks and metrics.
public struct SchedulerStatistics: Sendable, Codable {
    /// False once the scheduler is shutting down.
    public var accepting: Bool
    public var uptimeSeconds: Double
    public var queueLimit: Int
    public var queued: Int
    public var lanes: [LaneStatistics]
    /// How many jobs each placement sent to each lane (`auto->libvips`, `gpu->libvips (fallback)`).
    public var placements: [String: Int]
}

public struct LaneStatistics: Sendable, Codable {
    public var name: String
    public var kind: BackendKind
    public var device: String
    public var workers: Int
    public var queued: Int
    public var running: Int
    public var completed: Int
    public var failed: Int
    public var retried: Int
    public var rejected: Int
    public var cancelled: Int
    public var healthy: Bool
    /// Seconds until the lane takes jobs again; nil when it is not quarantined.
    public var quarantinedForSeconds: Double?
    public var quarantines: Int
    public var consecutiveFaults: Int
    public var busySeconds: Double
    /// Busy time over the time the lane's workers have existed.
    public var utilisation: Double
    public var queueWaitSeconds: Percentiles
    public var serviceSeconds: Percentiles
    public var queueWaitHistogram: Histogram
    public var serviceHistogram: Histogram
    /// The cost model's current fit, overall and per recipe kind.
    public var costModel: [CostEstimate]
}

public struct Percentiles: Sendable, Codable, Hashable {
    public var count: Int
    public var p50: Double
    public var p95: Double
    public var p99: Double
}

public struct CostEstimate: Sendable, Codable, Hashable {
    /// `*` for the lane's overall model, else operations and format (`resize>jpeg`).
    public var recipe: String
    public var fixedSeconds: Double
    public var secondsPerMegapixel: Double
    public var observations: Int
}

extension Scheduler {
    public func statistics() -> SchedulerStatistics {
        let instant = clockNow
        let elapsed = max(uptime.seconds, 1e-9)
        let laneStatistics = lanes.map { lane -> LaneStatistics in
            let quarantine = lane.quarantinedUntil.flatMap { until in until > instant ? (until - instant).seconds : nil }
            var models = [CostEstimate(recipe: "*", model: lane.overallModel)]
            models += lane.models.sorted { $0.key < $1.key }.map { CostEstimate(recipe: $0.key, model: $0.value) }
            return LaneStatistics(
                name: lane.name,
                kind: lane.kind,
                device: lane.backend.device,
                workers: lane.workers,
                queued: lane.queue.count,
                running: lane.running.count,
                completed: lane.counters.completed,
                failed: lane.counters.failed,
                retried: lane.counters.retried,
                rejected: lane.counters.rejected,
                cancelled: lane.counters.cancelled,
                healthy: quarantine == nil,
                quarantinedForSeconds: quarantine,
                quarantines: lane.counters.quarantines,
                consecutiveFaults: lane.consecutiveFaults,
                busySeconds: lane.counters.busySeconds,
                utilisation: min(lane.counters.busySeconds / (elapsed * Double(lane.workers)), 1),
                queueWaitSeconds: lane.counters.queueWaits.percentiles,
                serviceSeconds: lane.counters.serviceTimes.percentiles,
                queueWaitHistogram: lane.counters.queueWaitHistogram,
                serviceHistogram: lane.counters.serviceHistogram,
                costModel: models
            )
        }
        return SchedulerStatistics(
            accepting: isAccepting,
            uptimeSeconds: elapsed,
            queueLimit: configuration.queueLimit,
            queued: lanes.reduce(0) { $0 + $1.queue.count },
            lanes: laneStatistics,
            placements: placements
        )
    }
}

extension CostEstimate {
    init(recipe: String, model: CostModel) {
        let (fixed, perMegapixel) = model.coefficients
        self.init(recipe: recipe, fixedSeconds: fixed, secondsPerMegapixel: perMegapixel, observations: model.observations)
    }
}
