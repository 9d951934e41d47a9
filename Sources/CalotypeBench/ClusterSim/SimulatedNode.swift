import CalotypeCluster
import CalotypeCore
import Foundation
import Logging
import PostgresNIO

/// One node of the simulation: everything a cluster node says to the
/// database, as `ClusterNodeService` says it (its own connection pool, its
/// registration, the claim loop with its heartbeats and item ends, the
/// `LISTEN` connection that wakes it and its streams, its turn at
/// rescuing leases, and its upkeep, `NodeUpkeep`), with a backend that finishes each item at
/// once, or after `itemTime`, without an image.
struct SimulatedNode: Sendable {
    let name: String
    let client: PostgresClient
    let queue: WorkQueue
    let feed: BatchEventFeed
    let worker: ClusterWorker
    let rescuer: LeaseRescuer

    init(
        name: String,
        database: PostgresClient.Configuration,
        connections: Int,
        workers: Int,
        lease: Duration,
        itemTime: Duration,
        logger: Logger,
        observer: @escaping @Sendable (ClusterWorker.Event) -> Void
    ) {
        var configuration = database
        configuration.options.maximumConnections = connections
        var quiet = logger
        quiet.logLevel = .error
        self.name = name
        client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        queue = WorkQueue(client: client, logger: logger)
        feed = BatchEventFeed(log: BatchEventLog(client: client, logger: logger))
        worker = ClusterWorker(
            queue: queue,
            configuration: .init(owner: name, policy: WorkQueue.ClaimPolicy(pools: [.cpu]), workers: workers, lease: lease),
            observer: observer,
            process: { claim in await Self.finish(claim, after: itemTime) }
        )
        rescuer = LeaseRescuer(queue: queue, interval: lease / 3, maxAttempts: 3)
    }

    /// Runs until cancelled; `listening` is called once its `LISTEN` is in place.
    func run(listening: @escaping @Sendable () -> Void) async {
        let (queue, feed, worker, rescuer, logger) = (self.queue, self.feed, self.worker, self.rescuer, queue.logger)
        // The pool outlives the loops (a task of its own, stopped after
        // them): stopped with them, it would fail their last calls, and
        // every node would log a connection lost at the end of a run.
        let pool = Task { await client.run() }
        await withTaskGroup(of: Void.self) { group in
            do {
                try await queue.register(node: name, cpuWorkers: worker.configuration.workers, gpuWorkers: 0)
            } catch {
                logger.error("a simulated node could not register", metadata: ["node": "\(name)", "error": "\(String(reflecting: error))"])
            }
            group.addTask { await feed.run(onListening: listening, onEvent: { worker.nudge() }) }
            group.addTask { await rescuer.run() }
            group.addTask {
                await NodeUpkeep(queue: queue, batchLifetime: .seconds(3600)).run(
                    sampled: { _ in },
                    failed: { operation, error in
                        logger.warning(
                            "a simulated node's upkeep failed",
                            metadata: ["operation": "\(operation)", "error": "\(String(reflecting: error))"]
                        )
                    }
                )
            }
            group.addTask {
                do {
                    try await worker.run()
                } catch {
                    if !Task.isCancelled { logger.error("a simulated node's claim loop failed", metadata: ["error": "\(String(reflecting: error))"]) }
                }
            }
            await group.waitForAll()
        }
        pool.cancel()
        await pool.value
    }

    /// What a node answers for an item: a result of a typical size.
    static func finish(_ claim: WorkQueue.Claim, after itemTime: Duration) async -> ClusterWorker.Finished {
        if itemTime > .zero { try? await Task.sleep(for: itemTime) }
        let batchID = claim.batchID.uuidString.lowercased()
        var item = APIBatchItem(batchID: batchID, index: claim.index, filename: claim.name, status: .ok)
        item.backend = "simulated"
        item.width = 512
        item.height = 384
        item.format = .jpeg
        item.bytes = 41_234
        item.durationMs = 3.2
        item.url = "\(APIBatchItem.resultsPath)\(batchID)_\(claim.index)_0123456789abcdef_0123456789abcdef0123456789abcdef.jpg"
        return ClusterWorker.Finished(.ended(.succeeded), item: item)
    }
}
