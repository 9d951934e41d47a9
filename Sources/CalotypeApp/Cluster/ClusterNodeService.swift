import CalotypeCluster
import CalotypeCore
import Foundation
import Logging
import PostgresNIO
import Scheduler
import Server
import ServiceLifecycle
import Synchronization

/// The node's connection pool, as a service: started before the HTTP
/// server and stopped after it (and after the node's work), so that every
/// request in flight and every hand-back at shutdown still reaches the
/// database.
struct PostgresClientService: Service {
    let client: PostgresClient

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await client.run()
        }
    }
}

/// The node's share of the cluster's work: it registers the node, claims
/// items for the scheduler's workers and runs them (`ClusterWorker`),
/// takes its turn at rescuing expired leases (`LeaseRescuer`) and at
/// forgetting old batches, and wakes its event streams (`BatchEventFeed`).
///
/// In a shutdown it goes first: it stops claiming, lets the items it runs
/// end (the service group cancels it at the end of the grace period, and
/// then it hands back what is left, unfinished, for another node), and
/// ends its event streams so that their clients resume on another node.
struct ClusterNodeService: Service {
    let node: ClusterNode
    let server: CalotypeServer
    /// Workers per kind, as `GET /cluster` lists them.
    let cpuWorkers: Int
    let gpuWorkers: Int
    /// How long finished batches stay readable (their results' lifetime).
    let batchLifetime: Duration

    /// The longest an item may take here, all of its steps at their own
    /// deadlines: its input (a source or a staged upload), its job, storing
    /// its result and its destination's copy, recording its end; then a
    /// lease for good measure. 2 min 40 s with the defaults.
    var itemDeadline: Duration {
        let storage = node.inputs.client.configuration.timeout
        let input = max(server.configuration.sources?.timeout ?? .zero, storage)
        return input + server.scheduler.configuration.jobTimeout + storage * 2 + node.settings.lease * 2
    }

    func run() async throws {
        let settings = node.settings
        let queue = node.queue
        try await queue.register(node: settings.nodeName, cpuWorkers: cpuWorkers, gpuWorkers: gpuWorkers)
        let policy =
            gpuWorkers > 0
            ? WorkQueue.ClaimPolicy(pools: [.gpu, .cpu])
            : WorkQueue.ClaimPolicy(pools: [.cpu], othersAfter: settings.gpuWait)
        let worker = ClusterWorker(
            queue: queue,
            configuration: .init(
                owner: settings.nodeName,
                policy: policy,
                workers: cpuWorkers + gpuWorkers,
                lease: settings.lease,
                maxAttempts: settings.maxAttempts,
                itemDeadline: itemDeadline
            ),
            observer: observe,
            process: process
        )
        let rescuer = LeaseRescuer(queue: queue, interval: settings.lease / 3, maxAttempts: settings.maxAttempts) { [logger = node.logger] expired in
            logger.notice("took back expired leases", metadata: ["items": "\(expired.count)", "dead": "\(expired.count(where: \.dead))"])
        }
        node.logger.info("joined the cluster", metadata: ["cpu_workers": "\(cpuWorkers)", "gpu_workers": "\(gpuWorkers)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await node.feed.run(onEvent: { worker.nudge() }) }
            group.addTask { await rescuer.run() }
            group.addTask {
                await NodeUpkeep(queue: queue, batchLifetime: batchLifetime).run(
                    sampled: { node.metrics.sample($0) },
                    failed: { node.failed($0, $1) }
                )
            }
            try await withGracefulShutdownHandler {
                try await worker.run()
            } onGracefulShutdown: {
                worker.drain()
            }
            node.feed.close()
            group.cancelAll()
        }
        node.logger.info("left the cluster's work")
    }

    /// One item, through this node's scheduler, as `/batches` runs its own.
    private func process(_ claim: WorkQueue.Claim) async -> ClusterWorker.Finished {
        let batchID = claim.batchID.uuidString.lowercased()
        guard let batch = await node.batchPlan(claim.batchID) else {
            let item = APIBatchItem(
                batchID: batchID,
                index: claim.index,
                filename: claim.name,
                status: .error,
                error: APIErrorDetail(code: .clusterUnavailable, message: "the batch's recipe could not be read")
            )
            return ClusterWorker.Finished(.retry(in: nil), item: item)
        }
        var item = await server.runHandedOutItem(
            .source(claim.source),
            index: claim.index,
            batchID: batchID,
            resultToken: batch.resultToken,
            tenant: JobTenant(name: batch.owner),
            recipe: batch.recipe,
            placement: batch.placement,
            strictPlacement: batch.strict,
            destination: batch.destination,
            fetcher: node.inputs
        )
        item.filename = claim.name
        return ClusterWorker.Finished(Self.ending(of: item, staged: claim.source.hasPrefix(StagedInputs.scheme)), item: item)
    }

    /// Final, or a fault of this node's that another attempt may not have:
    /// a device fault (on a CPU node next), the node's queue full or
    /// stopping, a staged upload S3 did not give. A fault of the input's is
    /// final at once.
    static func ending(of item: APIBatchItem, staged: Bool) -> ClusterWorker.Finished.Ending {
        guard let error = item.error else { return .ended(.succeeded) }
        switch error.code {
        case .backendFault: return .retry(in: .cpu)
        case .overloaded, .shuttingDown, .cancelled, .clusterUnavailable: return .retry(in: nil)
        case .sourceUnreachable where staged, .sourceTimeout where staged: return .retry(in: nil)
        default: return .ended(.failed)
        }
    }

    private func observe(_ event: ClusterWorker.Event) {
        switch event {
        case .claimed:
            node.claims.add(1, ordering: .relaxed)
        case .finished(let claim, let accepted):
            node.claims.subtract(1, ordering: .relaxed)
            // Ended for good: its staged upload is not needed again.
            if accepted { Task { await ClusterBatchHost.discard(claim.source, node: node) } }
        case .looked:
            // Holds nothing yet: what it claimed comes as `claimed` events.
            break
        case .abandoned, .databaseFailed:
            // Still counted as held until its task ends (a call that never
            // returns keeps it so; the log and the metric say which).
            break
        case .lost, .retried:
            node.claims.subtract(1, ordering: .relaxed)
        case .released(let claims):
            node.claims.subtract(claims.count, ordering: .relaxed)
        }
        node.metrics.record(event)
    }
}
