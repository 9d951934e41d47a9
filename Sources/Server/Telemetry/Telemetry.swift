import CoreMetrics
import Prometheus
import Scheduler

/// A process's metrics: one Prometheus registry that everything records
/// into through swift-metrics (the scheduler's lanes, the endpoints,
/// Hummingbird's HTTP metrics) and that `GET /metrics` renders.
///
/// Each engine has its own (no global bootstrap), so that tests can run
/// several servers in one process without their counts mixing.
public struct Telemetry: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The counters' values, for `/stats`: the same increments as `registry`'s.
    let readings: CounterReadings
    /// The swift-metrics factory that records into `registry` and `readings`.
    public let metrics: any MetricsFactory

    public init() {
        let registry = PrometheusCollectorRegistry()
        var prometheus = PrometheusMetricsFactory(registry: registry)
        prometheus.durationHistogramBuckets = [
            SchedulerMetrics.serviceSeconds: SchedulerMetrics.histogramBuckets,
            SchedulerMetrics.queueWaitSeconds: SchedulerMetrics.histogramBuckets,
        ]
        let readings = CounterReadings()
        self.registry = registry
        self.readings = readings
        self.metrics = MultiplexMetricsHandler(factories: [prometheus, readings])
    }

    /// Sets the gauges that are read off the scheduler rather than counted
    /// as things happen: queue depths, jobs running, workers, lane health,
    /// the memory budget.
    func sample(_ statistics: SchedulerStatistics, memoryBudget: MemoryBudget) {
        for lane in statistics.lanes {
            let labels = [("lane", lane.name), ("kind", lane.kind.rawValue)]
            gauge("calotype_queue_depth", labels).record(lane.queued)
            gauge("calotype_in_flight", labels).record(lane.running)
            gauge("calotype_workers", labels).record(lane.workers)
            gauge("calotype_lane_healthy", labels).record(lane.healthy ? 1 : 0)
        }
        if memoryBudget.limit < .max {
            gauge("calotype_memory_budget_bytes", []).record(memoryBudget.limit)
        }
        gauge("calotype_memory_held_bytes", []).record(memoryBudget.used)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    func render() -> [UInt8] {
        registry.emitToBuffer()
    }

    private func gauge(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: labels, factory: metrics)
    }
}
