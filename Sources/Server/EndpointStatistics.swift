/// Per-endpoint counts for `/stats`: requests, images, failures, rejections.
actor EndpointStatistics {
    struct Counts: Codable, Sendable {
        var requests = 0
        var images = 0
        var failures = 0
        var rejections = 0
    }

    private(set) var endpoints: [String: Counts] = [:]

    func request(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].requests += 1
    }

    func record(_ endpoint: String, images: Int, failures: Int) {
        endpoints[endpoint, default: Counts()].images += images
        endpoints[endpoint, default: Counts()].failures += failures
    }

    func rejected(_ endpoint: String) {
        endpoints[endpoint, default: Counts()].rejections += 1
    }
}
