import CalotypeCore
import Foundation
import Logging
import PostgresNIO

/// Every node runs one; the database lets one of them at a time take back
/// the items whose lease ended (their node died or stalled): queued again,
/// or `dead` after their last attempt, each dead item's events written in
/// the same transaction, so that a batch's stream always ends.
public struct LeaseRescuer: Sendable {
    public let queue: WorkQueue
    /// How often to look (a fraction of the lease: a dead node's items wait
    /// at most the lease plus this).
    public let interval: Duration
    public let maxAttempts: Int
    let observer: @Sendable ([WorkQueue.Expired]) -> Void

    public init(
        queue: WorkQueue,
        interval: Duration,
        maxAttempts: Int,
        observer: @escaping @Sendable ([WorkQueue.Expired]) -> Void = { _ in }
    ) {
        self.queue = queue
        self.interval = interval
        self.maxAttempts = max(1, maxAttempts)
        self.observer = observer
    }

    /// One look: nil when another node holds the turn.
    public func rescueOnce() async throws -> [WorkQueue.Expired]? {
        let logger = queue.logger
        return try await queue.expireLeases(maxAttempts: maxAttempts) { connection, expired in
            for (batch, items) in Dictionary(grouping: expired.filter(\.dead), by: \.batchID) {
                let ends = items.sorted { $0.index < $1.index }.map { item in
                    ItemEnd(
                        state: .dead,
                        item: APIBatchItem(
                            batchID: batch.uuidString.lowercased(),
                            index: item.index,
                            filename: item.name,
                            status: .error,
                            error: APIErrorDetail(
                                code: .attemptsExhausted,
                                message: "no node finished this item in \(item.attempts) attempts (each stopped, stalled or died while it ran)"
                            )
                        )
                    )
                }
                try await BatchLedger.record(ends, of: batch, on: connection, logger: logger)
            }
        }
    }

    /// Looks every `interval` until cancelled; a failed look (the database
    /// away) is tried again at the next.
    ///
    /// A look is one statement (`Look`) unless it finds work: every node
    /// looks, so 512 simulated nodes looked 51 times a second, and a look
    /// was a transaction of four statements and a round for every batch
    /// with notes (0.8 statements an item at 153 items/s).
    public func run() async {
        // The newest note at the last look: a note as old has had its
        // round's chance, and one still there lost it (its node stopped).
        var newestNote = 0
        while !Task.isCancelled {
            do {
                let look = try await Look.take(on: queue, notesUpTo: newestNote)
                if look.expired, let expired = try await rescueOnce(), !expired.isEmpty { observer(expired) }
                await BatchSequencer.sweep(look.strandedNotes, client: queue.client, logger: queue.logger)
                newestNote = look.newestNote
            } catch {
                queue.logger.warning("rescuing expired leases failed; trying again", metadata: ["error": "\(String(reflecting: error))"])
            }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    /// What a look finds: whether any lease has ended, and the batches
    /// with notes no round took since the last look.
    struct Look {
        var expired: Bool
        var strandedNotes: [UUID]
        var newestNote: Int

        static func take(on queue: WorkQueue, notesUpTo seen: Int) async throws -> Look {
            var look = Look(expired: false, strandedNotes: [], newestNote: 0)
            let rows = try await queue.client.query(
                """
                SELECT EXISTS (SELECT 1 FROM calotype_items WHERE state = 'running' AND lease_until < now()),
                       ARRAY(SELECT DISTINCT batch_id FROM calotype_pending_events WHERE seq <= \(seen)),
                       coalesce((SELECT max(seq) FROM calotype_pending_events), 0)::int8
                """,
                logger: queue.logger
            )
            for try await (expired, stranded, newest) in rows.decode((Bool, [UUID], Int).self) {
                look = Look(expired: expired, strandedNotes: stranded, newestNote: newest)
            }
            return look
        }
    }
}
