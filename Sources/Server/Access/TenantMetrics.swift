import CoreMetrics

/// Requests per tenant, by what became of them at the door:
/// `calotype_tenant_requests_total{tenant, outcome}`, where `outcome` is
/// `admitted`, `forbidden` (a key without the scope) or `rate_limited`, and
/// a key this server does not know counts as the tenant `unknown`. The
/// tenant label takes the keys file's names only, so its values are
/// bounded by configuration, never by what clients send.
struct TenantMetrics: Sendable {
    enum Outcome: String {
        case admitted, unauthorized, forbidden
        case rateLimited = "rate_limited"
    }

    let factory: any MetricsFactory

    func count(_ tenant: String, _ outcome: Outcome) {
        Counter(label: "calotype_tenant_requests_total", dimensions: [("tenant", tenant), ("outcome", outcome.rawValue)], factory: factory)
            .increment()
    }
}
