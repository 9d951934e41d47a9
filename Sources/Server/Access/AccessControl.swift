/// Who may use the server and how often: the keys, each tenant's bucket,
/// and the count of what came of each tenant's requests.
struct AccessControl: Sendable {
    let keys: APIKeys?
    let rates = RateLimits()
    let metrics: TenantMetrics
}
