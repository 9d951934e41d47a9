/// Per-endpoint counts for `/stats`: requests, images, failures, rejections.
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

    func request(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].requests += 1
    }

    func record(_ endpoint: String, images: Int, failures: Int) {
        endpoints[endpoint, default: Counts()].images += images
        endpoints[endpoint, default: Counts()].failures += failures
    }

    func record(_ report: BatchReport) {
        endpoints[report.endpoint, default: Counts()].images += report.succeeded + report.failed
        endpoints[report.endpoint, default: Counts()].failures += report.failed
        endpoints[report.endpoint, default: Counts()].cancelled += report.cancelled
    }

    func rejected(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].rejections += 1
    }
}
