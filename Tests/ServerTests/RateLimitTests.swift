import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import Server

/// The token bucket's arithmetic, on a clock the test moves.
@Suite("Rate limits")
struct RateLimitTests {
    final class Clock: Sendable {
        private let instant = NIOLockedValueBox(ContinuousClock.now)
        var now: ContinuousClock.Instant { instant.withLockedValue { $0 } }
        func advance(_ duration: Duration) { instant.withLockedValue { $0 += duration } }
    }

    @Test func aBucketHoldsOneSecondOfRequestsAndRefillsAtTheRate() {
        let clock = Clock()
        let limits = RateLimits(now: { clock.now })
        let tenant = Tenant(name: "web", scopes: [.process], rate: 4)
        for _ in 0..<4 { #expect(limits.take(for: tenant) == nil) }
        #expect(limits.take(for: tenant) == .milliseconds(250))
        clock.advance(.milliseconds(250))
        #expect(limits.take(for: tenant) == nil)
        #expect(limits.take(for: tenant) != nil)
        // An idle hour refills no more than the bucket holds.
        clock.advance(.seconds(3600))
        for _ in 0..<4 { #expect(limits.take(for: tenant) == nil) }
        #expect(limits.take(for: tenant) != nil)
    }

    @Test func aTenantWithoutARateIsNeverHeldAndBucketsAreNotShared() {
        let clock = Clock()
        let limits = RateLimits(now: { clock.now })
        let free = Tenant(name: "free", scopes: [.process])
        for _ in 0..<1000 { #expect(limits.take(for: free) == nil) }
        let slow = Tenant(name: "slow", scopes: [.process], rate: 0.5)
        #expect(limits.take(for: slow) == nil)
        #expect(limits.take(for: slow) == .seconds(2))
        #expect(limits.take(for: Tenant(name: "slow2", scopes: [.process], rate: 0.5)) == nil)
    }
}
