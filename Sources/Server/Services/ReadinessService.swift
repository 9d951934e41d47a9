import ServiceLifecycle
import Synchronization

/// Whether the server takes new work: `GET /ready` answers 503 from the
/// moment a shutdown begins, so that a load balancer (a Kubernetes
/// readiness probe) sends nothing new while the node drains.
final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .acquiring) }

    func drain() { draining.store(true, ordering: .releasing) }
}

/// Last in the service list, so that a shutdown reaches it first: it marks
/// the server draining, then lets the other services stop in their order.
struct ReadinessService: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.drain()
    }
}
