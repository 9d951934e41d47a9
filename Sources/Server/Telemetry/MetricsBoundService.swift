import CoreMetrics
import ServiceLifecycle

/// Runs a service with `metrics` as the swift-metrics factory of its tasks
/// (a task-local binding, no global bootstrap): Hummingbird's metrics
/// middleware records each server's requests into that server's registry.
struct MetricsBoundService: Service {
    let service: any Service
    let metrics: any MetricsFactory

    func run() async throws {
        try await withMetricsFactory(metrics) {
            try await service.run()
        }
    }
}
