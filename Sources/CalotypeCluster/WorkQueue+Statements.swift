import Foundation
import PostgresNIO

/// The statements every item runs, prepared once per connection: the
/// claim's plan took a third of its time (0.4 of 1.5 ms in
/// `pg_stat_statements`, 32 simulated nodes).
extension WorkQueue {
    struct ClaimStatement: PostgresPreparedStatement {
        typealias Row = (UUID, Int, String, String, String, Int, UUID, Int, Int)

        var pools: [String]
        /// Milliseconds; -1: never another pool's items.
        var othersAfter: Int
        var preferred: String
        var limit: Int
        var owner: String
        /// Milliseconds.
        var lease: Int

        static let sql = """
            WITH picked AS (
                SELECT batch_id, index FROM calotype_items
                WHERE state = 'queued'
                  AND (pool = ANY($1) OR ($2 >= 0 AND queued_at < now() - $2 * interval '1 millisecond'))
                ORDER BY (pool = $3) DESC, turn, queued_at, batch_id, index
                LIMIT $4
                FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE calotype_items AS item
                SET state = 'running', attempts = item.attempts + 1, lease_token = gen_random_uuid(), lease_owner = $5,
                    lease_until = now() + $6 * interval '1 millisecond'
                FROM picked JOIN calotype_batches AS batch ON batch.id = picked.batch_id
                WHERE item.batch_id = picked.batch_id AND item.index = picked.index
                RETURNING item.batch_id, item.index, item.source, item.name, item.pool, item.attempts, item.lease_token,
                          batch.total, batch.succeeded + batch.failed + batch.cancelled AS ended
            ), started AS (
                INSERT INTO calotype_pending_events (batch_id, index, name, kind) SELECT batch_id, index, name, 'started' FROM claimed
            )
            SELECT batch_id, index, source, name, pool, attempts, lease_token, total, ended FROM claimed
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(pools)
            bindings.append(othersAfter)
            bindings.append(preferred)
            bindings.append(limit)
            bindings.append(owner)
            bindings.append(lease)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }

    struct FinishStatement: PostgresPreparedStatement {
        typealias Row = Int

        var batch: UUID
        var index: Int
        var token: UUID
        var state: String
        var outcome: String
        /// The end's event: `result` or `error`, and its JSON.
        var event: String
        var data: String
        var succeeded: Bool

        static let sql = """
            WITH finished AS (
                UPDATE calotype_items
                SET state = $4, outcome = $5, lease_token = NULL, lease_owner = NULL, lease_until = NULL
                WHERE batch_id = $1 AND index = $2 AND state = 'running' AND lease_token = $3
                RETURNING batch_id, index, name
            )
            INSERT INTO calotype_pending_events (batch_id, index, name, kind, data, succeeded)
            SELECT batch_id, index, name, $6, $7, $8 FROM finished
            RETURNING index
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(batch)
            bindings.append(index)
            bindings.append(token)
            bindings.append(state)
            bindings.append(outcome)
            bindings.append(event)
            bindings.append(data)
            bindings.append(succeeded)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Int.self)
        }
    }
}
