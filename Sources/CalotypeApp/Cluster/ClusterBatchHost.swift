import CalotypeCluster
import CalotypeCore
import CalotypeOpenCL
import Foundation
import Logging
import Server

/// `/batches` in cluster mode: a batch posted to any node is written to
/// the shared queue (its uploads staged in S3 first), and any node answers
/// its status, its events (from the shared log) and its cancel.
struct ClusterBatchHost: BatchHost {
    let node: ClusterNode

    func post(_ submission: BatchSubmission) async throws(APIError) -> APIBatchCreated {
        let id = UUID()
        let batchID = id.uuidString.lowercased()
        let pool = await node.pool(for: submission.recipe, placement: submission.placement, strict: submission.strictPlacement)
        let sources = try await stage(submission.items, batch: batchID)
        let items = zip(submission.items, sources).map { input, source in
            WorkQueue.NewItem(source: source, name: input.name, pool: pool)
        }
        let batch = WorkQueue.NewBatch(
            id: id,
            recipeJSON: submission.recipe.json,
            placement: submission.placement.rawValue,
            strict: submission.strictPlacement,
            destination: submission.destination,
            owner: submission.owner.name,
            resultToken: ResultName.newToken()
        )
        do {
            try await node.queue.enqueue(batch, items: items)
        } catch {
            node.logger.error("enqueueing a batch failed", metadata: ["batch": "\(batchID)", "error": "\(String(reflecting: error))"])
            for source in sources { await Self.discard(source, node: node) }
            throw Self.unavailable("the batch could not be queued")
        }
        let paths = (status: "/batches/\(batchID)", events: "/batches/\(batchID)/events")
        return APIBatchCreated(batchID: batchID, status: .running, total: items.count, eventsURL: paths.events, statusURL: paths.status)
    }

    /// Each upload stored where every node reads it (`stagingConcurrency`
    /// at a time: the bytes are in memory already, and S3 takes them in
    /// parallel); a
    /// reference stays as it is. If one cannot be stored, those stored are
    /// removed and the batch is refused.
    private func stage(_ inputs: [BatchInput], batch: String) async throws(APIError) -> [String] {
        let staging = node.inputs
        var sources: [Int: String?] = [:]
        _ = await runSlidingWindow(over: Array(inputs.indices), width: Self.stagingConcurrency) { [node] index -> String? in
            switch inputs[index] {
            case .source(let reference): return reference
            case .uploaded(let image):
                do {
                    return try await staging.stage(image.bytes, batch: batch, index: index)
                } catch {
                    node.failed("stage an upload", error, ["batch": "\(batch)", "index": "\(index)"])
                    return nil
                }
            }
        } finished: { index, source in
            sources[index] = source
            // One that cannot be stored refuses the batch: stage no more.
            return source != nil
        }
        let stored = (0..<inputs.count).compactMap { sources[$0] ?? nil }
        guard stored.count == inputs.count else {
            for source in stored { await Self.discard(source, node: node) }
            throw Self.unavailable("the uploads could not be stored in S3")
        }
        return stored
    }

    func status(of id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus {
        let record = try await self.record(id, withItems: true, for: tenant)
        let state: APIBatchStatus.State =
            switch record.state {
            case "cancelled": .cancelled
            case "completed": .completed
            default: .running
            }
        let batchID = record.id.uuidString.lowercased()
        return APIBatchStatus(
            batchID: batchID,
            status: state,
            total: record.total,
            completed: record.succeeded + record.failed + record.cancelled,
            succeeded: record.succeeded,
            failed: record.failed,
            cancelled: record.cancelled,
            durationMs: record.durationMs,
            createdAt: record.createdAt.formatted(.iso8601),
            eventsURL: "/batches/\(batchID)/events",
            statusURL: "/batches/\(batchID)",
            lastEventID: record.lastEventID,
            results: record.items
        )
    }

    func events(of id: String, after lastEventID: Int, for tenant: Tenant) async throws(APIError) -> BatchEventStream {
        let record = try await self.record(id, withItems: false, for: tenant)
        if lastEventID > record.lastEventID { return .unknownEvent(latest: record.lastEventID) }
        if record.state != "running", lastEventID == record.lastEventID { return .finished }
        let events = node.feed.follow(record.id, after: lastEventID)
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let pump = Task {
            for await event in events {
                continuation.yield(ServerSentEvent(id: String(event.id), event: event.name, data: event.data).encoded)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in pump.cancel() }
        return .events(stream, keepAlive: { continuation.yield(ServerSentEvent.comment("keep-alive")) })
    }

    func cancel(_ id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus {
        guard let uuid = UUID(uuidString: id) else { throw Self.notFound(id) }
        // Its owner never changes: read first, then cancel.
        _ = try await record(id, withItems: false, for: tenant)
        let found: Bool
        do {
            found = try await node.queue.cancel(uuid)
        } catch {
            node.logger.error("cancelling a batch failed", metadata: ["batch": "\(id)", "error": "\(String(reflecting: error))"])
            throw Self.unavailable("the batch could not be cancelled")
        }
        guard found else { throw Self.notFound(id) }
        return try await status(of: id, for: tenant)
    }

    /// The batch, if `tenant` may read it: another tenant's is as unknown as one never posted.
    private func record(_ id: String, withItems: Bool, for tenant: Tenant) async throws(APIError) -> WorkQueue.BatchRecord {
        guard let uuid = UUID(uuidString: id) else { throw Self.notFound(id) }
        let record: WorkQueue.BatchRecord?
        do {
            record = try await node.queue.batch(uuid, withItems: withItems)
        } catch {
            node.logger.error("reading a batch failed", metadata: ["batch": "\(id)", "error": "\(String(reflecting: error))"])
            throw Self.unavailable("the batch could not be read")
        }
        guard let record, tenant.mayRead(batchOf: record.owner) else { throw Self.notFound(id) }
        return record
    }

    /// Uploads stored in S3 at once while a batch is posted. Measured with
    /// 48 photos of 0.6 MB on SeaweedFS on the same 2 cores: 8 at a time
    /// kept the POST at about 250 ms, a phase in which no node has work.
    static let stagingConcurrency = 32

    private static func notFound(_ id: String) -> APIError {
        APIError(.notFound, .notFound, "no batch '\(id)' in this cluster (finished batches are kept for CALOTYPE_RESULT_TTL)")
    }

    /// The database (or S3) did not answer: try again shortly, on this node or another.
    static func unavailable(_ what: String) -> APIError {
        var error = APIError(.serviceUnavailable, .clusterUnavailable, "\(what): the cluster's database or storage did not answer; retry shortly")
        error.headers[.retryAfter] = "2"
        return error
    }
}

extension ClusterBatchHost {
    /// Removes a staged upload that is not needed again; a failure leaves
    /// the object to the bucket's lifecycle rule, logged and counted.
    static func discard(_ source: String, node: ClusterNode) async {
        do {
            try await node.inputs.discard(source)
        } catch {
            node.failed("discard a staged upload", error, ["source": "\(source)"])
        }
    }
}
