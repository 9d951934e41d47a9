import CalotypeCore
import Foundation
import Hummingbird
import Scheduler

extension CalotypeServer {
    struct Health: Encodable {
        struct Backend: Encodable {
            let name: String
            let kind: String
            let device: String
            let workers: Int
            let healthy: Bool
            let quarantinedUntil: String?
            /// GPU lanes: whether the device's arithmetic matched this libvips at start.
            let selfCheck: String?

            enum CodingKeys: String, CodingKey {
                case name, kind, device, workers, healthy
                case quarantinedUntil = "quarantined_until"
                case selfCheck = "self_check"
            }

            /// `quarantined_until` is always present: null when the lane is healthy.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(name, forKey: .name)
                try container.encode(kind, forKey: .kind)
                try container.encode(device, forKey: .device)
                try container.encode(workers, forKey: .workers)
                try container.encode(healthy, forKey: .healthy)
                try container.encode(quarantinedUntil, forKey: .quarantinedUntil)
                try container.encodeIfPresent(selfCheck, forKey: .selfCheck)
            }
        }

        let status: String
        let version: String
        let uptimeSeconds: Double
        let parallelEnabled: Bool
        let backends: [Backend]
        /// `open` (no keys file: anyone who reaches the port may use every
        /// endpoint) or `api_keys`.
        let access: String
        /// The output formats this server writes (the console offers these).
        let writes: [String]
        /// In cluster mode: this node's name, its database, its claims.
        let cluster: APIClusterHealth?

        enum CodingKeys: String, CodingKey {
            case status, version
            case uptimeSeconds = "uptime_s"
            case parallelEnabled = "parallel_enabled"
            case backends, access, writes, cluster
        }
    }

    func addHealthRoutes(to router: Router<CalotypeRequestContext>) {
        router.get("health") { request, context -> Response in
            let statistics = await scheduler.statistics()
            let healthy = statistics.lanes.filter(\.healthy).count
            let status = !statistics.accepting || healthy == 0 ? "unavailable" : healthy < statistics.lanes.count ? "degraded" : "ok"
            let formatter = ISO8601DateFormatter()
            let backends = statistics.lanes.map { lane in
                Health.Backend(
                    name: lane.name,
                    kind: lane.kind.rawValue,
                    device: lane.device,
                    workers: lane.workers,
                    healthy: lane.healthy,
                    quarantinedUntil: lane.quarantinedForSeconds.map { formatter.string(from: Date().addingTimeInterval($0)) },
                    selfCheck: selfChecks[lane.name]
                )
            }
            let cluster = await configuration.cluster?.health()
            let health = Health(
                status: cluster?.databaseReachable == false && status == "ok" ? "degraded" : status,
                version: Self.version,
                uptimeSeconds: (ContinuousClock.now - started).seconds,
                parallelEnabled: configuration.parallelEnabled,
                backends: backends,
                access: configuration.apiKeys == nil ? "open" : "api_keys",
                writes: configuration.writableFormats.map(\.rawValue),
                cluster: cluster
            )
            return try Self.json(health, status: status == "unavailable" ? .serviceUnavailable : .ok, for: request, context: context)
        }

        // Readiness, for load balancers: new work is welcome here. 503 while
        // the node drains (a shutdown has begun) or cannot serve at all;
        // `/health` stays the liveness answer.
        router.get("ready") { request, context -> Response in
            struct Ready: Encodable {
                let ready: Bool
                let reason: String?
            }
            let statistics = await scheduler.statistics()
            let reason: String? =
                readiness.isDraining
                ? "draining"
                : !statistics.accepting
                    ? "not accepting jobs"
                    : statistics.lanes.allSatisfy({ !$0.healthy }) ? "no healthy backend" : nil
            return try Self.json(
                Ready(ready: reason == nil, reason: reason),
                status: reason == nil ? .ok : .serviceUnavailable,
                for: request,
                context: context
            )
        }

        let metrics = router.requiring(.metrics, access)
        metrics.get("stats") { request, context -> Response in
            struct Stats: Encodable {
                let scheduler: SchedulerStatistics
                let endpoints: [String: EndpointStatistics.Counts]
                let cluster: APICluster?
            }
            // A database away leaves the cluster out; the node's own figures still answer.
            let cluster: APICluster?
            do {
                cluster = try await configuration.cluster?.overview()
            } catch {
                context.logger.warning("/stats without the cluster: its database did not answer", metadata: ["error": "\(error)"])
                cluster = nil
            }
            let stats = Stats(scheduler: await scheduler.statistics(), endpoints: statistics.counts, cluster: cluster)
            return try APIResponseEncoder(snakeCase: true).encode(stats, from: request, context: context)
        }

        metrics.get("cluster") { request, context -> Response in
            guard let cluster = configuration.cluster else {
                throw APIError(.notFound, .notFound, "this server is not a cluster node (CALOTYPE_DATABASE_URL is not set)")
            }
            return try Self.json(try await cluster.overview(), for: request, context: context)
        }
    }
}
