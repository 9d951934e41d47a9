import CalotypeCore
import Foundation
import Scheduler

/// The batch host of a server that is not a cluster node: each batch runs
/// here, through the scheduler's batch runner (`BatchRun`), and is kept in
/// the registry (`LocalBatch`) for its status, events and cancel.
struct LocalBatchHost: BatchHost {
    let registry: BatchRegistry
    let scheduler: Scheduler
    let results: ResultStore
    let statistics: EndpointStatistics
    /// Where `/process-and-save` saves (`CalotypeServer.saveTarget`).
    let saveTarget: any ResultSink
    /// Told when each batch ends.
    let observer: (@Sendable (BatchReport) -> Void)?
    /// How long finished batches are kept, for the message of a 404.
    let lifetime: Duration

    func post(_ submission: BatchSubmission) async throws(APIError) -> APIBatchCreated {
        let saver = submission.destination == BatchSubmission.saveTargetDestination ? saveTarget : nil
        var run = BatchRun(
            upload: submission.upload,
            scheduler: scheduler,
            results: results,
            statistics: statistics,
            endpoint: submission.endpoint,
            saver: saver
        )
        run.observer = observer
        run.tenant = submission.owner.jobTenant
        let batch = LocalBatch(id: run.id, total: submission.items.count, lifetime: submission.lifetime, owner: submission.owner.name)
        try await registry.admit(batch)
        batch.start(run, parallelism: submission.parallelism)
        let paths = BatchPaths(id: batch.id)
        return APIBatchCreated(batchID: batch.id, status: .running, total: batch.total, eventsURL: paths.events, statusURL: paths.status)
    }

    func status(of id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus {
        try await batch(id, for: tenant).snapshot(paths: BatchPaths(id: id))
    }

    func events(of id: String, after lastEventID: Int, for tenant: Tenant) async throws(APIError) -> BatchEventStream {
        try await batch(id, for: tenant).subscribe(after: lastEventID)
    }

    func cancel(_ id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus {
        let batch = try await batch(id, for: tenant)
        await batch.cancel()
        // Deleted as the method says: the answer is the batch's last state.
        // A request's own batch stays until its request has its answer.
        if batch.lifetime == .resource { await registry.remove(id) }
        return batch.snapshot(paths: BatchPaths(id: id))
    }

    func answered(_ id: String) async {
        guard let batch = await registry.batch(id), batch.lifetime == .request else { return }
        await registry.remove(id)
    }

    /// The batch, if `tenant` may read it: another tenant's is as unknown as one never posted.
    private func batch(_ id: String, for tenant: Tenant) async throws(APIError) -> LocalBatch {
        guard let batch = await registry.batch(id), tenant.mayRead(batchOf: batch.owner) else {
            throw APIError(.notFound, .notFound, "no batch '\(id)' (finished batches are kept for \(Int(lifetime.seconds)) s)")
        }
        return batch
    }
}
