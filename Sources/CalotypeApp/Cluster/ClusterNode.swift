import CalotypeCluster
import CalotypeCore
import CalotypeOpenCL
import CoreMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Scheduler
import Server
import Synchronization

/// This process as one node of a cluster (`CALOTYPE_DATABASE_URL`): its
/// connection pool to the shared database, the queue and event log there,
/// where uploads are staged, and what it tells `/health`, `/stats` and
/// `GET /cluster`. `ClusterNodeService` runs its share of the work.
public final class ClusterNode: Sendable {
    public let settings: ClusterSettings
    let client: PostgresClient
    let queue: WorkQueue
    let feed: BatchEventFeed
    let inputs: StagedInputs
    let logger: Logger
    /// Items this node holds now.
    let claims = Atomic<Int>(0)
    let metrics: ClusterMetrics
    /// The plans of the batches this node ran items of lately.
    private let plans = NIOLockedValueBox<[UUID: BatchPlan]>([:])
    /// Whether a GPU node was heard from lately, and when that was asked.
    private let gpuNodes = NIOLockedValueBox<(present: Bool, asked: ContinuousClock.Instant?)>((false, nil))

    /// A node of the cluster at `settings`; its results (and staged
    /// uploads) go to `results`, the S3 store every node shares.
    init(
        settings: ClusterSettings,
        results: S3ResultStorage,
        references: (any SourceFetcher)?,
        metrics: any MetricsFactory,
        logger: Logger
    ) throws {
        self.metrics = ClusterMetrics(factory: metrics)
        var logger = logger
        logger[metadataKey: "node"] = "\(settings.nodeName)"
        self.settings = settings
        self.logger = logger
        // The pool's own log: connection attempts at info (every retry while
        // the database is away, which the node reports itself, with context)
        // and a warning when a query comes before `run()`, which the service
        // group starts beside the node's first queries; errors only.
        var poolLogger = logger
        poolLogger.logLevel = .error
        client = PostgresClient(configuration: try ClusterDatabase.configuration(url: settings.databaseURL), backgroundLogger: poolLogger)
        queue = WorkQueue(client: client, logger: logger)
        feed = BatchEventFeed(log: BatchEventLog(client: client, logger: logger))
        inputs = StagedInputs(client: results.client, bucket: results.bucket, prefix: results.prefix, references: references)
    }

    /// Cluster mode over `configuration`: `/batches` kept in the cluster,
    /// and the cluster shown. Nil when results are not in S3 (checked by
    /// `ClusterSettings.read` already).
    public static func join(
        _ settings: ClusterSettings,
        configuration: inout ServerConfiguration,
        metrics: any MetricsFactory,
        logger: Logger
    ) throws -> ClusterNode? {
        guard let results = configuration.resultStorage as? S3ResultStorage else { return nil }
        let node = try ClusterNode(settings: settings, results: results, references: configuration.sources, metrics: metrics, logger: logger)
        configuration.batchHost = ClusterBatchHost(node: node)
        configuration.cluster = node
        return node
    }

    /// The pool an item of `recipe` is queued in: `gpu` when a GPU runs
    /// every operation of it and a GPU node was heard from lately (GPU nodes
    /// take these first); `cpu` otherwise, so that a cluster without GPUs
    /// never waits for one.
    func pool(for recipe: Recipe, placement: Placement, strict: Bool) async -> WorkQueue.Pool {
        guard placement != .cpu else { return .cpu }
        let gpuRecipe = recipe.operations.allSatisfy { OpenCLBackend.portedOperations.contains($0.kind) }
        guard gpuRecipe || (placement == .gpu && strict) else { return .cpu }
        return await hasGPUNodes() ? .gpu : .cpu
    }

    /// What every item of a batch runs.
    struct BatchPlan: Sendable {
        var recipe: Recipe
        var placement: Placement
        var strict: Bool
        var destination: String?
        var owner: String
        var resultToken: String
    }

    /// A cluster call whose failure this node outlives: logged, and counted
    /// in `calotype_cluster_errors_total{operation}`.
    func failed(_ operation: String, _ error: any Error, _ metadata: Logger.Metadata = [:]) {
        var metadata = metadata
        metadata["error"] = "\(String(reflecting: error))"
        logger.warning("cluster: \(operation) failed", metadata: metadata)
        metrics.failed(operation)
    }

    /// The plan of `batch`, read once per batch (nil: the database did not
    /// answer, or the batch is gone).
    func batchPlan(_ batch: UUID) async -> BatchPlan? {
        if let plan = plans.withLockedValue({ $0[batch] }) { return plan }
        let record: WorkQueue.BatchRecord?
        do {
            record = try await queue.batch(batch)
        } catch {
            failed("read a batch", error, ["batch": "\(batch)"])
            return nil
        }
        guard let record else { return nil }
        let recipe: Recipe
        do {
            recipe = try Recipe.jsonDecoder(maxOperations: Recipe.operationsCeiling).decode(Recipe.self, from: Data(record.recipeJSON.utf8))
        } catch {
            failed("read a batch's recipe", error, ["batch": "\(batch)"])
            return nil
        }
        let plan = BatchPlan(
            recipe: recipe,
            placement: Placement(rawValue: record.placement) ?? .auto,
            strict: record.strict,
            destination: record.destination,
            owner: record.owner,
            resultToken: record.resultToken
        )
        plans.withLockedValue { plans in
            // A node runs items of a few batches at a time; this is not a store.
            if plans.count >= 256 { plans.removeAll() }
            plans[batch] = plan
        }
        return plan
    }

    /// Asked of the database at most every few seconds.
    private func hasGPUNodes() async -> Bool {
        let now = ContinuousClock.now
        let cached = gpuNodes.withLockedValue { state -> Bool? in
            guard let asked = state.asked, now - asked < .seconds(5) else { return nil }
            return state.present
        }
        if let cached { return cached }
        let silence = settings.lease.seconds * 2
        let nodes: [WorkQueue.Node]
        do {
            nodes = try await queue.nodes()
        } catch {
            // Taken as none: the item waits for no GPU node.
            failed("list nodes", error)
            nodes = []
        }
        let present = nodes.contains { $0.gpuWorkers > 0 && $0.silentSeconds < silence }
        gpuNodes.withLockedValue { $0 = (present, now) }
        return present
    }
}

extension ClusterNode: ClusterView {
    /// `/health` is the liveness probe: a database that does not answer
    /// makes it say so within a second, never hang (the pool would wait for
    /// a connection as long as the database is away).
    public func health() async -> APIClusterHealth {
        let client = self.client
        let logger = self.logger
        let reachable = (try? await Self.within(.seconds(1)) { try await client.query("SELECT 1", logger: logger).collect() }) != nil
        return APIClusterHealth(node: settings.nodeName, databaseReachable: reachable, claims: claims.load(ordering: .relaxed))
    }

    /// `operation`'s value, or nil when it has not answered within `limit`.
    /// A query already sent is not stopped by cancellation (postgres-nio
    /// waits for the server's answer), so the caller does not wait for it:
    /// it runs on in a task of its own, and ends when the database answers
    /// or the connection drops.
    static func within<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        let answer = NIOLockedValueBox<CheckedContinuation<T?, any Error>?>(nil)
        return try await withCheckedThrowingContinuation { continuation in
            answer.withLockedValue { $0 = continuation }
            let resume = { @Sendable (result: Result<T?, any Error>) in
                let first = answer.withLockedValue { state -> CheckedContinuation<T?, any Error>? in
                    defer { state = nil }
                    return state
                }
                first?.resume(with: result)
            }
            let work = Task {
                do {
                    resume(.success(try await operation()))
                } catch {
                    resume(.failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                work.cancel()
                resume(.success(nil))
            }
        }
    }

    public func overview() async throws(APIError) -> APICluster {
        do {
            // `/stats` and the console ask every few seconds: a database that
            // does not answer is said within 3 s.
            guard let overview = try await Self.within(.seconds(3), { [self] in try await readOverview() }) else {
                throw ClusterError.unreachable(.seconds(3))
            }
            return overview
        } catch {
            logger.error("reading the cluster failed", metadata: ["error": "\(String(reflecting: error))"])
            throw ClusterBatchHost.unavailable("the cluster could not be read")
        }
    }

    private func readOverview() async throws -> APICluster {
        let nodes = try await queue.nodes().map {
            APICluster.Node(
                name: $0.name,
                cpuWorkers: $0.cpuWorkers,
                gpuWorkers: $0.gpuWorkers,
                lastHeartbeatS: $0.silentSeconds,
                running: $0.running
            )
        }
        let queued = try await queue.queued()
        return APICluster(
            node: settings.nodeName,
            nodes: nodes,
            items: try await queue.counts(),
            queued: Dictionary(uniqueKeysWithValues: WorkQueue.Pool.allCases.map { ($0.rawValue, queued[$0] ?? 0) })
        )
    }
}
