import Foundation
import PostgresNIO

/// The statement every item runs, prepared once per connection: the
/// claim's plan took a third of its time (0.4 of 1.5 ms in
/// `pg_stat_statements`, 32 simulated nodes).
extension WorkQueue {
    /// Ends a node's finished items and claims its next ones, in one
    /// statement: a node with one worker says one statement an item.
    ///
    /// The ends: each item's row, fenced by its claim's token, and the note
    /// of its end (`calotype_pending_events`, with its `result` or `error`
    /// event) from which `BatchSequencer` writes its events and counts it.
    /// The claim: up to `limit` queued items under the node's policy, each
    /// with a fresh lease token, and the note that each started. Its
    /// preferred pool first, then the other, each in turn order, each read
    /// in the order of the queued items' index so that it stops at
    /// `limit`: one `ORDER BY (pool = preferred) DESC, turn` sorted every
    /// queued item, under every claim, and took 14 ms an item at 128
    /// simulated nodes (600 queued). Neither
    /// touches a batch's row, so that ends and claims of one batch never
    /// wait for each other. An ended item cannot be claimed again here: it
    /// was `running` when the statement began.
    ///
    /// The ends are written before the claim reads the queue (its limit
    /// waits for their count): the claim's `FOR UPDATE SKIP LOCKED` never
    /// waits, but may leave a lock on a row that another node claimed and
    /// is ending (a row its snapshot saw queued: PostgreSQL locks the row's
    /// newest version before it finds it no longer queued, and keeps the
    /// lock). With the claim first, two nodes each waited in their ends
    /// for such a lock of the other's: a deadlock, 2 in 40,000 items at 32
    /// simulated nodes. Ends first, a statement waits only while it holds
    /// no claim's lock, and the one it waits for never waits. The ends'
    /// rows are locked in key order, as a cancel, a heartbeat and the
    /// rescuer lock theirs, so that two of them never wait in a circle.
    ///
    /// For `BatchSequencer`, the statement also says which batches it
    /// noted in, each with whether another note of the batch was pending
    /// when it began (one not among the node's handed-off notes: another
    /// node's round is due for it, and takes this one too), and which of
    /// the notes the node handed off earlier are still pending.
    struct EndAndClaimStatement: PostgresPreparedStatement {
        /// What each row is (`RowKind`), then: an accepted end's batch,
        /// index and token; a claim; a note's batch, its `seq` (in the
        /// index's place) and whether another was pending (1 or 0, in the
        /// attempts' place); a handed-off note still pending: its batch
        /// and `seq`.
        typealias Row = (Int, UUID, Int, String, String, String, Int, UUID, Int, Int)

        enum RowKind: Int {
            case ended = 0
            case claimed = 1
            case noted = 2
            case stillPending = 3
        }

        var pools: [String]
        /// Milliseconds; -1: never another pool's items.
        var othersAfter: Int
        var preferred: String
        /// The pool that is not `preferred`.
        var other: String
        var limit: Int
        var owner: String
        /// Milliseconds.
        var lease: Int
        var ends: [EndNote]
        /// The node's notes handed off to other nodes' rounds, not yet
        /// found taken: their batches and `seq`s.
        var handedOff: [(batch: UUID, seq: Int)]

        static let sql = """
            WITH ends AS (
                SELECT * FROM unnest($7::uuid[], $8::int8[], $9::uuid[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bool[])
                    AS note(batch_id, index, token, state, outcome, kind, data, succeeded)
            ), mine AS (
                SELECT item.batch_id, item.index FROM calotype_items AS item
                JOIN ends ON item.batch_id = ends.batch_id AND item.index = ends.index
                WHERE item.state = 'running' AND item.lease_token = ends.token
                ORDER BY item.batch_id, item.index
                FOR UPDATE OF item
            ), ended AS (
                UPDATE calotype_items AS item
                SET state = ends.state, outcome = ends.outcome, lease_token = NULL, lease_owner = NULL, lease_until = NULL
                FROM ends JOIN mine ON mine.batch_id = ends.batch_id AND mine.index = ends.index
                WHERE item.batch_id = mine.batch_id AND item.index = mine.index AND item.state = 'running' AND item.lease_token = ends.token
                RETURNING item.batch_id, item.index, item.name, ends.token, ends.kind, ends.data, ends.succeeded
            ), noted AS (
                INSERT INTO calotype_pending_events (batch_id, index, name, kind, data, succeeded)
                SELECT batch_id, index, name, kind, data, succeeded FROM ended
                RETURNING batch_id, seq
            ), handed AS (
                SELECT * FROM unnest($16::uuid[], $17::int8[]) AS handed(batch_id, seq)
            ), preferred AS (
                SELECT batch_id, index FROM calotype_items
                WHERE state = 'queued' AND pool = $3
                ORDER BY turn, queued_at, batch_id, index
                LIMIT $4 + 0 * (SELECT count(*) FROM ended)
                FOR UPDATE SKIP LOCKED
            ), other AS (
                SELECT batch_id, index FROM calotype_items
                WHERE state = 'queued' AND pool = $15
                  AND ($15 = ANY($1) OR ($2 >= 0 AND queued_at < now() - $2 * interval '1 millisecond'))
                ORDER BY turn, queued_at, batch_id, index
                LIMIT $4 - (SELECT count(*) FROM preferred)
                FOR UPDATE SKIP LOCKED
            ), picked AS (
                SELECT * FROM preferred UNION ALL SELECT * FROM other
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
                RETURNING batch_id, seq
            ), notes AS (
                SELECT * FROM noted UNION ALL SELECT * FROM started
            )
            SELECT 0, batch_id, index, '', '', '', 0, token, 0, 0 FROM ended
            UNION ALL
            SELECT 1, batch_id, index, source, name, pool, attempts, lease_token, total, ended FROM claimed
            UNION ALL
            SELECT 2, notes.batch_id, notes.seq, '', '', '', ((
                SELECT pending.seq FROM calotype_pending_events AS pending
                WHERE pending.batch_id = notes.batch_id AND pending.seq <> ALL ($17::int8[])
                ORDER BY pending.seq LIMIT 1
            ) IS NOT NULL)::int, notes.batch_id, 0, 0 FROM notes
            UNION ALL
            SELECT 3, handed.batch_id, handed.seq, '', '', '', 0, handed.batch_id, 0, 0
            FROM handed WHERE EXISTS (
                SELECT 1 FROM calotype_pending_events AS pending
                WHERE pending.batch_id = handed.batch_id AND pending.seq = handed.seq
            )
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(pools)
            bindings.append(othersAfter)
            bindings.append(preferred)
            bindings.append(limit)
            bindings.append(owner)
            bindings.append(lease)
            bindings.append(ends.map(\.claim.batchID))
            bindings.append(ends.map(\.claim.index))
            bindings.append(ends.map(\.claim.token))
            bindings.append(ends.map(\.state.rawValue))
            bindings.append(ends.map(\.outcome))
            bindings.append(ends.map(\.event))
            bindings.append(ends.map(\.data))
            bindings.append(ends.map { $0.state == .succeeded })
            bindings.append(other)
            bindings.append(handedOff.map(\.batch))
            bindings.append(handedOff.map(\.seq))
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}
