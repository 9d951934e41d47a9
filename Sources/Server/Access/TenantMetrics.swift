import CoreMetrics
import NIOConcurrencyHelpers

/// Requests per tenant, by what became of them at the door:
/// `calotype_tenant_requests_total{tenant, outcome}`, where `outcome` is
/// `admitted`, `forbidden` (a key without the scope) or `rate_limited`, and
/// a key this server does not know counts as the tenant `unknown`. The
/// tenant label takes the keys file's names only, so its values are
/// bounded by configuration, never by what clients send.
final class TenantMetrics: Sendable {
    enum Outcome: String {
        case admitted, unauthorized, forbidden
        case rateLimited = "rate_limited"
    }

    private let factory: any MetricsFactory
    /// Each tenant's counters, made once: looking one up in the registry
    /// on every request cost more than the key's check.
    private let counters = NIOLockedValueBox<[String: Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func count(_ tenant: String, _ outcome: Outcome) {
        let name = "\(tenant)\u{0}\(outcome.rawValue)"
        let counter = counters.withLockedValue { counters in
            if let counter = counters[name] { return counter }
            let counter = Counter(
                label: "calotype_tenant_requests_total",
                dimensions: [("tenant", tenant), ("outcome", outcome.rawValue)],
                factory: factory
            )
            counters[name] = counter
            return counter
        }
        counter.increment()
    }
}
