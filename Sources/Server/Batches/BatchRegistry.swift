import Foundation

/// The batches this process runs (`LocalBatchHost`). Running ones posted to
/// `/batches` are bounded (each holds its uploaded images in memory until it
/// ends; a request's own batch is bounded by the connections); finished ones
/// stay readable, status and events, for as long as their results are
/// kept, then go (a request's own, once it is answered).
actor BatchRegistry {
    private var batches: [String: LocalBatch] = [:]
    /// Ids in the order they were posted, for eviction.
    private var order: [String] = []
    private let lifetime: Duration
    private let maxRunning: Int
    /// Finished batches kept at most, whatever their age.
    private let maxKept: Int

    init(lifetime: Duration, maxRunning: Int, maxKept: Int = 1000) {
        self.lifetime = lifetime
        self.maxRunning = maxRunning
        self.maxKept = maxKept
    }

    /// Registers a new batch, or refuses a resource while `maxRunning`
    /// resources run.
    func admit(_ batch: LocalBatch) throws(APIError) {
        evictExpired()
        let running = batches.values.count { $0.lifetime == .resource && $0.finishedAt == nil }
        guard batch.lifetime == .request || running < maxRunning else {
            var error = APIError(
                .serviceUnavailable,
                .overloaded,
                "\(running) batches are running, the limit (CALOTYPE_MAX_BATCHES); retry when one ends"
            )
            error.headers[.retryAfter] = "5"
            throw error
        }
        batches[batch.id] = batch
        order.append(batch.id)
    }

    func batch(_ id: String) -> LocalBatch? {
        evictExpired()
        return batches[id]
    }

    /// Forgets a batch (`DELETE /batches/{id}` once it is over, or a
    /// request's own once answered): its status and events are gone; its
    /// results stay at their urls until they expire.
    func remove(_ id: String) {
        batches[id] = nil
        order.removeAll { $0 == id }
    }

    /// Lets the batches running now end, for up to `grace`; then cancels
    /// what is left of them (graceful shutdown).
    func drain(within grace: Duration) async {
        let running = batches.values.filter { $0.finishedAt == nil }
        guard !running.isEmpty else { return }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for batch in running { await batch.wait() }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            let allEnded = await group.next() ?? true
            group.cancelAll()
            if !allEnded {
                for batch in running { await batch.cancel() }
            }
        }
    }

    /// Finished resources go past their lifetime or past `maxKept`; a
    /// request's own batch goes when answered (`remove`), or past its
    /// lifetime if its answer never came to an end, never to make room.
    private func evictExpired() {
        let now = ContinuousClock.now
        var finished = order.count { batches[$0]?.finishedAt != nil && batches[$0]?.lifetime == .resource }
        order.removeAll { id in
            guard let batch = batches[id] else { return true }
            guard let finishedAt = batch.finishedAt else { return false }
            let crowded = batch.lifetime == .resource && finished > maxKept
            if finishedAt + lifetime <= now || crowded {
                batches[id] = nil
                if batch.lifetime == .resource { finished -= 1 }
                return true
            }
            return false
        }
    }
}
