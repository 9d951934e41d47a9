import Foundation
import NIOConcurrencyHelpers

/// Each tenant's requests a second (its key's `rate`), as a token bucket
/// one second deep: a tenant may burst up to its rate at once, then gets
/// one request per 1/rate seconds. Buckets are keyed by tenant name, whose
/// number the keys file bounds.
final class RateLimits: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    /// Takes a token for `tenant`: nil when the request may go on, else
    /// the wait until the next token.
    func take(for tenant: Tenant) -> Duration? {
        guard let rate = tenant.rate else { return nil }
        let depth = max(1, rate)
        let now = self.now()
        return buckets.withLockedValue { buckets -> Duration? in
            var bucket = buckets[tenant.name] ?? Bucket(tokens: depth, updated: now)
            let elapsed = max(0, (now - bucket.updated).seconds)
            bucket.tokens = min(depth, bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer { buckets[tenant.name] = bucket }
            guard bucket.tokens >= 1 else { return .seconds((1 - bucket.tokens) / rate) }
            bucket.tokens -= 1
            return nil
        }
    }
}
