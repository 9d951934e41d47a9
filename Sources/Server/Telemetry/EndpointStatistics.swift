import CoreMetrics

/// Per-endpoint counts: for `/stats` as they stand, and as swift-metrics
/// counters for `/metrics` (requests, images, failures, rejections,
/// cancelled batch items, each labelled with its endpoint).
actor EndpointStatistics {
    struct Counts: Codable, Sendable {
        var requests = 0
        var images = 0
        var failures = 0
        var rejections = 0
        /// Batch items that never ran because their batch was cancelled.
        var cancelled = 0
    }

    private(set) var endpoints: [String: Counts] = [:]
    private let metrics: any MetricsFactory
    /// The counters made so far, by name and endpoint: made once, not looked
    /// up in the registry (under its lock) on every request.
    private var counters: [String: CoreMetrics.Counter] = [:]

    init(metrics: any MetricsFactory) {
        self.metrics = metrics
    }

    func request(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].requests += 1
        count("calotype_http_requests_total", endpoint, 1)
    }

    func record(_ endpoint: String, images: Int, failures: Int) {
        endpoints[endpoint, default: Counts()].images += images
        endpoints[endpoint, default: Counts()].failures += failures
        count("calotype_images_total", endpoint, images)
        count("calotype_image_failures_total", endpoint, failures)
    }

    func record(_ report: BatchReport) {
        endpoints[report.endpoint, default: Counts()].images += report.succeeded + report.failed
        endpoints[report.endpoint, default: Counts()].failures += report.failed
        endpoints[report.endpoint, default: Counts()].cancelled += report.cancelled
        count("calotype_images_total", report.endpoint, report.succeeded + report.failed)
        count("calotype_image_failures_total", report.endpoint, report.failed)
        count("calotype_batch_items_cancelled_total", report.endpoint, report.cancelled)
    }

    func rejected(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].rejections += 1
        count("calotype_rejections_total", endpoint, 1)
    }

    /// Counters are made on first use: a family appears once something
    /// was counted in it (an increment by 0 included).
    private func count(_ name: String, _ endpoint: String, _ amount: Int) {
        let key = name + " " + endpoint
        if let counter = counters[key] {
            counter.increment(by: amount)
            return
        }
        let counter = CoreMetrics.Counter(label: name, dimensions: [("endpoint", endpoint)], factory: metrics)
        counters[key] = counter
        counter.increment(by: amount)
    }
}
