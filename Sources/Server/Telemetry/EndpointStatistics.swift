import CoreMetrics
import NIOConcurrencyHelpers

/// Per-endpoint counts, recorded once each as swift-metrics counters
/// labelled with their endpoint: `/metrics` renders them, and `/stats`
/// reads them back (`counts`) from the same increments.
///
/// Requests, rejections and single images are counted by
/// `EndpointStatisticsMiddleware` from each answer; batch items by their
/// batch's report when it ends.
final class EndpointStatistics: Sendable {
    /// One endpoint's counts, as `/stats` shows them.
    struct Counts: Codable, Sendable, Equatable {
        var requests = 0
        /// Images answered or failed (batch items included).
        var images = 0
        var failures = 0
        /// Requests refused before any work: no room, shutting down, or a
        /// request that cannot be run (a bad recipe, signature or upload).
        var rejections = 0
        /// Batch items that never ran because their batch was cancelled.
        var cancelled = 0
    }

    /// The counters' names, as `/metrics` shows them.
    enum Name: String, CaseIterable {
        case requests = "calotype_http_requests_total"
        case images = "calotype_images_total"
        case failures = "calotype_image_failures_total"
        case rejections = "calotype_rejections_total"
        case cancelled = "calotype_batch_items_cancelled_total"
    }

    private let metrics: any MetricsFactory
    private let readings: CounterReadings
    /// The counters made so far, by name and endpoint: made once, not looked
    /// up in the registry (under its lock) on every request.
    private let counters = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])

    init(telemetry: Telemetry) {
        self.metrics = telemetry.metrics
        self.readings = telemetry.readings
    }

    func count(_ name: Name, _ endpoint: String, _ amount: Int = 1) {
        counter(name, endpoint).increment(by: amount)
    }

    func record(_ report: BatchReport) {
        count(.images, report.endpoint, report.succeeded + report.failed)
        count(.failures, report.endpoint, report.failed)
        count(.cancelled, report.endpoint, report.cancelled)
    }

    /// Every endpoint's counts, read from the counters `/metrics` renders.
    var counts: [String: Counts] {
        var counts: [String: Counts] = [:]
        for name in Name.allCases {
            for (endpoint, value) in readings.values(name.rawValue, by: "endpoint") {
                let value = Int(clamping: value)
                switch name {
                case .requests: counts[endpoint, default: Counts()].requests = value
                case .images: counts[endpoint, default: Counts()].images = value
                case .failures: counts[endpoint, default: Counts()].failures = value
                case .rejections: counts[endpoint, default: Counts()].rejections = value
                case .cancelled: counts[endpoint, default: Counts()].cancelled = value
                }
            }
        }
        return counts
    }

    /// Counters are made on first use: a family appears once something
    /// was counted in it (an increment by 0 included).
    private func counter(_ name: Name, _ endpoint: String) -> CoreMetrics.Counter {
        counters.withLockedValue { counters in
            let key = name.rawValue + " " + endpoint
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: name.rawValue, dimensions: [("endpoint", endpoint)], factory: metrics)
            counters[key] = counter
            return counter
        }
    }
}
