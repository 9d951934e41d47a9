import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Writes a batch's events from what happened to its items: the claims'
/// and ends' notes (`calotype_pending_events`) become `started`, `result`
/// or `error` with its `done`, and `complete` after the last, numbered on
/// from the batch's last event, with the batch's counts, in one statement
/// under the batch's lock: one lock and one commit for every item that
/// changed since the last round, however many nodes changed them.
///
/// Any node may run a round for any batch; a round that finds the batch
/// locked by another round leaves it (`SKIP LOCKED`), and the holder looks
/// for notes left after its commit and runs another round for them
/// (`roundAndLook`). Notes whose node stopped before its round are swept
/// by the lease rescuer (`sweep`, for notes older than its last look).
public final class BatchSequencer: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long a round waits for more notes of its batch (a claim and its
    /// end, for a fast item, go in one round).
    let window: Duration

    /// The end of a round's notification (`batch:progress`): streams
    /// read it, claim loops need not look for work (an item's progress
    /// brings none).
    public static let progressPayload = ":progress"

    private struct State {
        /// Batches with rounds on their way from this node; true: a note
        /// came during the round (run another).
        var running: [UUID: Bool] = [:]
        /// When each batch's next round is due.
        var due: [UUID: ContinuousClock.Instant] = [:]
        /// Their tasks, for `finish()` (each with a number of its own: a
        /// task that ends removes its own entry, never its successor's).
        var tasks: [UUID: (number: Int, task: Task<Void, Never>)] = [:]
        var numbered = 0
        /// The node is stopping: rounds run without waiting, and no new ones start.
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    public init(client: PostgresClient, logger: Logger, window: Duration = .milliseconds(5)) {
        self.client = client
        self.logger = logger
        self.window = window
    }

    /// `batch` has a note committed: its events are written within about
    /// `window`, or `after` when that is longer (a claim waits for its
    /// item's end, which then takes it in the same round if it comes soon).
    public func noteCommitted(in batch: UUID, after wait: Duration? = nil) {
        let due = ContinuousClock.now + max(wait ?? .zero, self.window)
        let number = state.withLockedValue { state -> Int? in
            if state.closed { return nil }
            state.due[batch] = min(state.due[batch] ?? due, due)
            if state.running[batch] != nil {
                state.running[batch] = true
                return nil
            }
            state.running[batch] = false
            state.numbered += 1
            return state.numbered
        }
        guard let number else { return }
        let (client, logger, window, state) = (self.client, self.logger, self.window, self.state)
        // Its own task: the claim or end that noted it does not wait for its events.
        let task = Task {
            defer {
                state.withLockedValue { state in
                    if state.tasks[batch]?.number == number { state.tasks[batch] = nil }
                }
            }
            // Until its round is due (an end may bring it closer); a stopping
            // node does not wait.
            while let wait = state.withLockedValue({ $0.closed ? nil : $0.due[batch].map { $0 - .now } }), wait > .zero {
                try? await Task.sleep(for: min(wait, window))
            }
            while true {
                state.withLockedValue { _ = $0.due.removeValue(forKey: batch) }
                state.withLockedValue { $0.running[batch] = false }
                let again: Bool
                do {
                    again = try await Self.roundAndLook(batch, client: client, logger: logger)
                } catch {
                    // The rescuer's sweep writes them if no later round does.
                    logger.warning(
                        "writing a batch's events failed; a later round or the rescuer's sweep writes them",
                        metadata: ["batch": "\(batch)", "error": "\(String(reflecting: error))"]
                    )
                    state.withLockedValue { $0.running[batch] = nil }
                    return
                }
                let more = state.withLockedValue { state -> Bool in
                    let more = again || (state.running[batch] ?? false)
                    if !more { state.running[batch] = nil }
                    return more
                }
                if !more { return }
            }
        }
        state.withLockedValue { state in
            // Unless it has ended already (and a successor may have begun).
            if state.running[batch] != nil, state.tasks[batch] == nil { state.tasks[batch] = (number, task) }
        }
    }

    /// A round; true when another is due. After a round that held the
    /// batch, a look at its notes (a plain read, after the commit): a note
    /// committed while the round held it, whose node found it held and left
    /// it to this one, is there to see, and this node runs another round
    /// for it. A round that found the batch held is done: the holder looks
    /// after its own commit.
    static func roundAndLook(_ batch: UUID, client: PostgresClient, logger: Logger) async throws -> Bool {
        guard try await round(batch, client: client, logger: logger) != nil else { return false }
        var left = false
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM calotype_pending_events WHERE batch_id = \(batch))", logger: logger)
        for try await exists in rows.decode(Bool.self) { left = exists }
        return left
    }

    /// The node is stopping: starts no more rounds, runs those on their
    /// way at once, and returns when they have ended (its pool is stopped
    /// after it). What a round could not write is left to the rescuer's sweep.
    public func finish() async {
        let tasks = state.withLockedValue { state in
            state.closed = true
            return state.tasks.values.map(\.task)
        }
        for task in tasks { await task.value }
    }

    /// One round for `batch` on the pool: nil when another round holds it.
    public static func round(_ batch: UUID, client: PostgresClient, logger: Logger) async throws -> Int? {
        var result: Int?
        for try await (locked, taken, _) in try await client.execute(Round(batch: batch), logger: logger) {
            result = locked > 0 ? taken : nil
        }
        return result
    }

    /// One round inside the caller's transaction, which holds the batch's
    /// row already (a cancel, a rescue: they write their own events after
    /// what is noted).
    static func round(_ batch: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        for try await _ in try await connection.execute(Round(batch: batch), logger: logger) {}
    }

    /// A round for each of `batches`, whose notes no round took (their
    /// node stopped before its round; a batch a live node's round holds is
    /// left to it): the lease rescuer's sweep.
    /// Each batch on its own: one whose round fails is logged and left to
    /// the next look. After each round, a look for notes committed while it
    /// held the batch (a live node's round that found it held left its
    /// notes to this one).
    public static func sweep(_ batches: [UUID], client: PostgresClient, logger: Logger) async {
        for batch in batches {
            do {
                // A few rounds at most: a busy batch's own nodes run the rest.
                var rounds = 0
                while rounds < 8, try await roundAndLook(batch, client: client, logger: logger) { rounds += 1 }
            } catch {
                logger.warning(
                    "sweeping a batch's notes failed; the next look tries again",
                    metadata: ["batch": "\(batch)", "error": "\(String(reflecting: error))"]
                )
            }
        }
    }

    /// The round: the notes taken (oldest first), their events numbered on
    /// from the batch's last (a `started` is one event, an end two: its
    /// `result` or `error` and its `done`), the counts moved, `complete`
    /// after the last item, the events inserted and announced. Each
    /// `done` and `started` carries the items ended up to it. JSON is
    /// written as the API's encoder writes it (keys sorted).
    ///
    /// Notes have no foreign key to the batch, so that a claim or an end
    /// never waits for a round's commit: with one, its check's share lock
    /// on the batch's row waited for it (`Lock:transactionid` in
    /// `pg_stat_activity` for most of 128 simulated nodes), and with the
    /// row held `FOR NO KEY UPDATE` instead, two rounds deadlocked on it.
    /// Prepared once per connection: planning it (window functions,
    /// five sub-statements) took twice as long as running it (1.2 and 0.6
    /// ms a round in `pg_stat_statements`, 32 simulated nodes).
    struct Round: PostgresPreparedStatement {
        typealias Row = (Int, Int, Int)

        let batch: UUID

        static let sql = """
            WITH locked AS (
                SELECT id, total, succeeded + failed + cancelled AS ended, last_event_id
                FROM calotype_batches WHERE id = $1 FOR UPDATE SKIP LOCKED
            ), taken AS (
                DELETE FROM calotype_pending_events AS note USING locked WHERE note.batch_id = locked.id
                RETURNING note.seq, note.index, note.name, note.kind, note.data, note.succeeded
            ), ordered AS (
                SELECT taken.*,
                    coalesce(sum(CASE WHEN kind = 'started' THEN 1 ELSE 2 END)
                        OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
                    count(*) FILTER (WHERE kind <> 'started') OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ends_through
                FROM taken
            ), totals AS (
                SELECT count(*) FILTER (WHERE kind <> 'started') AS ends,
                       count(*) FILTER (WHERE kind <> 'started' AND succeeded) AS succeeded,
                       coalesce(sum(CASE WHEN kind = 'started' THEN 1 ELSE 2 END), 0) AS events
                FROM taken
            ), counted AS (
                UPDATE calotype_batches AS batch
                SET succeeded = batch.succeeded + totals.succeeded, failed = batch.failed + totals.ends - totals.succeeded,
                    last_event_id = batch.last_event_id + totals.events
                        + CASE WHEN totals.ends > 0 AND batch.succeeded + batch.failed + batch.cancelled + totals.ends >= batch.total THEN 1 ELSE 0 END,
                    state = CASE WHEN totals.ends > 0 AND batch.succeeded + batch.failed + batch.cancelled + totals.ends >= batch.total
                        AND batch.state = 'running' THEN 'completed' ELSE batch.state END,
                    finished_at = CASE WHEN totals.ends > 0 AND batch.succeeded + batch.failed + batch.cancelled + totals.ends >= batch.total
                        THEN now() ELSE batch.finished_at END
                FROM locked, totals WHERE batch.id = locked.id AND totals.events > 0
                RETURNING batch.total, batch.succeeded, batch.failed, batch.cancelled, batch.last_event_id,
                    totals.ends > 0 AND batch.succeeded + batch.failed + batch.cancelled >= batch.total AS last,
                    (extract(epoch FROM now() - batch.created_at) * 1000)::float8 AS elapsed
            ), events AS (
                SELECT locked.last_event_id + ordered.before + 1 AS id, 'progress' AS name,
                    '{"batch_id":"' || $1::text || '","completed":' || (locked.ended + ordered.ends_through) || ',"filename":'
                        || to_json(ordered.name)::text || ',"index":' || ordered.index || ',"stage":"started","total":' || locked.total || '}' AS data
                FROM ordered, locked WHERE ordered.kind = 'started'
                UNION ALL
                SELECT locked.last_event_id + ordered.before + 1, ordered.kind, ordered.data
                FROM ordered, locked WHERE ordered.kind <> 'started'
                UNION ALL
                SELECT locked.last_event_id + ordered.before + 2, 'progress',
                    '{"batch_id":"' || $1::text || '","completed":' || (locked.ended + ordered.ends_through) || ',"filename":'
                        || to_json(ordered.name)::text || ',"index":' || ordered.index || ',"stage":"done","total":' || locked.total || '}'
                FROM ordered, locked WHERE ordered.kind <> 'started'
                UNION ALL
                SELECT counted.last_event_id, 'complete',
                    '{"batch_id":"' || $1::text || '","cancelled":' || counted.cancelled || ',"duration_ms":' || counted.elapsed
                        || ',"failed":' || counted.failed || ',"succeeded":' || counted.succeeded || ',"total":' || counted.total || '}'
                FROM counted WHERE counted.last
            ), inserted AS (
                INSERT INTO calotype_events (batch_id, id, name, data) SELECT $1, id, name, data FROM events
            ), announced AS (
                SELECT pg_notify('\(BatchEventLog.channel)', $1::text || '\(progressPayload)') FROM totals WHERE totals.events > 0
            )
            SELECT (SELECT count(*) FROM locked)::int, (SELECT count(*) FROM taken)::int, (SELECT count(*) FROM announced)::int
            """

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(batch)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }
}
