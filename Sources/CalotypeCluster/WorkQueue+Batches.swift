import CalotypeCore
import Foundation
import Logging
import PostgresNIO

extension WorkQueue {
    /// A batch as any node reads it: what its items run, and how far it is.
    public struct BatchRecord: Sendable {
        public var id: UUID
        public var recipeJSON: String
        public var placement: String
        public var strict: Bool
        public var destination: String?
        /// The tenant that posted it.
        public var owner: String
        /// In every result's name.
        public var resultToken: String
        public var total: Int
        /// running, completed or cancelled.
        public var state: String
        public var succeeded: Int
        public var failed: Int
        public var cancelled: Int
        public var lastEventID: Int
        public var createdAt: Date
        /// From its posting to its last item's end; nil while it runs.
        public var durationMs: Double?
        /// Its ended items, in input order (when asked for).
        public var items: [APIBatchItem]
    }

    /// The batch `id`, with its ended items if `withItems`; nil when there
    /// is no such batch (never posted, or forgotten after its lifetime).
    public func batch(_ id: UUID, withItems: Bool = false) async throws -> BatchRecord? {
        var record: BatchRecord?
        let rows = try await client.query(
            """
            SELECT recipe, placement, strict, destination, owner, result_token, total, state, succeeded, failed, cancelled, last_event_id, created_at,
                   (extract(epoch FROM finished_at - created_at) * 1000)::float8
            FROM calotype_batches WHERE id = \(id)
            """,
            logger: logger
        )
        for try await (
            recipe, placement, strict, destination, owner, resultToken, total, state, succeeded, failed, cancelled, lastEventID, createdAt, duration
        )
            in rows.decode((String, String, Bool, String?, String, String, Int, String, Int, Int, Int, Int, Date, Double?).self)
        {
            record = BatchRecord(
                id: id,
                recipeJSON: recipe,
                placement: placement,
                strict: strict,
                destination: destination,
                owner: owner,
                resultToken: resultToken,
                total: total,
                state: state,
                succeeded: succeeded,
                failed: failed,
                cancelled: cancelled,
                lastEventID: lastEventID,
                createdAt: createdAt,
                durationMs: duration,
                items: []
            )
        }
        guard var record, withItems else { return record }
        let items = try await client.query(
            "SELECT outcome FROM calotype_items WHERE batch_id = \(id) AND outcome IS NOT NULL ORDER BY index",
            logger: logger
        )
        for try await outcome in items.decode(String.self) {
            if let item = try? APIJSON.decode(APIBatchItem.self, from: Data(outcome.utf8)) { record.items.append(item) }
        }
        return record
    }

    /// Cancels `batch` on whichever nodes run it: every item not ended
    /// ends `cancelled` in one transaction, with its `error` event, and the
    /// batch's `complete` follows. A node running one of them finds its
    /// lease gone at its next heartbeat and stops it; its result, if it
    /// comes, is refused by the token. False: no such batch.
    public func cancel(_ batch: UUID) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            var state: String?
            let rows = try await connection.query("SELECT state FROM calotype_batches WHERE id = \(batch)", logger: logger)
            for try await value in rows.decode(String.self) { state = value }
            guard let state else { return false }
            // Over already: nothing is left to cancel.
            guard state == "running" else { return true }
            // The items first, in key order, then the batch's row (in the
            // ledger): the order in which ends, heartbeats and rescues lock
            // them, so that a cancel and a node's ends (several items of the
            // batch in one statement) never wait on each other in a circle.
            let cancelled = try await connection.query(
                """
                WITH locked AS (
                    SELECT index FROM calotype_items WHERE batch_id = \(batch) AND state IN ('queued', 'running')
                    ORDER BY index FOR UPDATE
                )
                UPDATE calotype_items AS item
                SET state = 'cancelled', lease_token = NULL, lease_owner = NULL, lease_until = NULL
                FROM locked
                WHERE item.batch_id = \(batch) AND item.index = locked.index AND item.state IN ('queued', 'running')
                RETURNING item.index, item.name, item.attempts > 0
                """,
                logger: logger
            )
            var ends: [ItemEnd] = []
            for try await (index, name, ran) in cancelled.decode((Int, String, Bool).self) {
                let message = ran ? "the batch was cancelled while this item ran" : "the batch was cancelled before this item ran"
                ends.append(
                    ItemEnd(
                        state: .cancelled,
                        item: APIBatchItem(
                            batchID: batch.uuidString.lowercased(),
                            index: index,
                            filename: name,
                            status: .error,
                            error: APIErrorDetail(code: .cancelled, message: message)
                        )
                    )
                )
            }
            try await connection.query("UPDATE calotype_batches SET state = 'cancelled' WHERE id = \(batch) AND state = 'running'", logger: logger)
            try await BatchLedger.record(ends.sorted { $0.item.index < $1.item.index }, of: batch, on: connection, logger: logger)
            return true
        }
    }

    /// Puts the item of `claim` back in the queue (in `pool`, when given),
    /// its attempt counted: a fault of the node's, not of the input (a
    /// device fault goes to the CPU pool). False: the lease was lost.
    public func retry(_ claim: Claim, in pool: Pool? = nil) async throws -> Bool {
        let rows = try await client.query(
            """
            UPDATE calotype_items
            SET state = 'queued', pool = coalesce(\(pool?.rawValue), pool), lease_token = NULL, lease_owner = NULL, lease_until = NULL,
                queued_at = now()
            WHERE batch_id = \(claim.batchID) AND index = \(claim.index) AND state = 'running' AND lease_token = \(claim.token)
            RETURNING index
            """,
            logger: logger
        )
        var retried = false
        for try await _ in rows.decode(Int.self) { retried = true }
        return retried
    }

    /// Forgets the batches that ended more than `age` ago: their rows,
    /// items and events (their results expire in S3 on their own).
    @discardableResult
    public func forgetBatches(endedBefore age: Duration) async throws -> Int {
        let rows = try await client.query(
            """
            WITH forgotten AS (
                DELETE FROM calotype_batches WHERE finished_at < now() - \(Self.milliseconds(age)) * interval '1 millisecond'
                RETURNING id
            ), notes AS (
                DELETE FROM calotype_pending_events WHERE batch_id IN (SELECT id FROM forgotten)
            )
            SELECT id FROM forgotten
            """,
            logger: logger
        )
        var count = 0
        for try await _ in rows.decode(UUID.self) { count += 1 }
        return count
    }
}
