import CalotypeCluster
import CoreMetrics

/// The node's cluster metrics, beside the scheduler's in `/metrics`:
/// what its claim loop did (counters), and the cluster's items per state
/// and pool (gauges, sampled from the database every few seconds by every
/// node; each node's `/metrics` shows the whole cluster's items).
struct ClusterMetrics: Sendable {
    let factory: any MetricsFactory

    /// Every series made at once, at zero: a counter that has not counted
    /// yet is exported all the same, so that rates and dashboards see it.
    init(factory: any MetricsFactory) {
        self.factory = factory
        for pool in WorkQueue.Pool.allCases {
            _ = counter("calotype_cluster_claims_total", [("pool", pool.rawValue)])
            for accepted in ["true", "false"] {
                _ = counter("calotype_cluster_finishes_total", [("pool", pool.rawValue), ("accepted", accepted)])
            }
        }
        for name in [
            "calotype_cluster_leases_lost_total", "calotype_cluster_retries_total", "calotype_cluster_released_total",
            "calotype_cluster_abandoned_total",
        ] {
            _ = counter(name, [])
        }
    }

    /// A cluster call whose failure the node outlives (it retries, falls
    /// back or answers without the figure): counted in
    /// `calotype_cluster_errors_total{operation}` (the caller logs it).
    func failed(_ operation: String) {
        counter("calotype_cluster_errors_total", [("operation", operation)]).increment()
    }

    func record(_ event: ClusterWorker.Event) {
        switch event {
        case .claimed(let claim):
            counter("calotype_cluster_claims_total", [("pool", claim.pool.rawValue)]).increment()
        case .finished(let claim, let accepted):
            counter("calotype_cluster_finishes_total", [("pool", claim.pool.rawValue), ("accepted", accepted ? "true" : "false")]).increment()
        case .lost:
            counter("calotype_cluster_leases_lost_total", []).increment()
        case .retried:
            counter("calotype_cluster_retries_total", []).increment()
        case .released(let claims):
            counter("calotype_cluster_released_total", []).increment(by: claims.count)
        case .abandoned:
            counter("calotype_cluster_abandoned_total", []).increment()
        case .databaseFailed(let operation):
            failed(operation)
        case .looked:
            break
        }
    }

    /// The items per state and pool, as the database counts them now.
    func sample(_ counts: [WorkQueue.ItemCount]) {
        for state in WorkQueue.itemStates {
            for pool in WorkQueue.Pool.allCases {
                let count = counts.first { $0.state == state && $0.pool == pool }?.count ?? 0
                Gauge(label: "calotype_cluster_items", dimensions: [("state", state), ("pool", pool.rawValue)], factory: factory).record(count)
            }
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        Counter(label: name, dimensions: labels, factory: factory)
    }
}
