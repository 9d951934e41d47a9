import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Synchronization

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
///
/// A node whose note found another node's note of the batch pending
/// hands it off: that node's round, due already, takes it too (or, if it
/// had begun, its look after its commit finds it). With 128 nodes, every
/// node trying a round for each of its notes made two rounds an item that
/// found the batch held, half of every item's statements. A handed-off
/// note is watched, not forgotten: the node's next statements say whether
/// it is still pending (`handedOff`, `taken`), and if none has found it
/// taken within `handOffWait` (its round came and went before the note's
/// commit, or no statement came), the node runs the round itself.
public final class BatchSequencer: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How long a round waits for more notes of its batch (a claim and its
    /// end, for a fast item, go in one round).
    let window: Duration
    /// How long a handed-off note may stay pending before its node runs
    /// the round itself: at least this, and at least two of the node's
    /// recent statements' round trips (`statementTook`), so that a loaded
    /// database, where every statement waits for a core, does not make
    /// every node run its own round again. At 512 simulated nodes a claim
    /// took 1 s, and a fixed 250 ms made two rounds an item.
    let handOffWait: Duration

    /// The end of a round's notification (`batch:progress`): streams
    /// read it, claim loops need not look for work (an item's progress
    /// brings none).
    public static let progressPayload = ":progress"

    /// A batch with a round due from this node, or notes handed off.
    private struct Pending {
        /// Its task's own number: a task that ends removes its own entry,
        /// never its successor's.
        let number: Int
        /// Wakes its task when `due` moves closer or goes.
        let wake = WakeSignal()
        /// When its round is due; nil: none is needed any more (its
        /// handed-off notes were all found taken).
        var due: ContinuousClock.Instant?
        /// A note of this node's goes with this node's round (it found no
        /// other to go with).
        var own = false
        /// This node's notes left to another node's round, by `seq`.
        var handedOff: Set<Int> = []
        /// Its round has begun; true `again`: a note came during it (run another).
        var inRound = false
        var again = false
        var task: Task<Void, Never>?
    }

    private struct State {
        var batches: [UUID: Pending] = [:]
        var numbered = 0
        /// The node's statements' recent round trip (a moving average).
        var roundTrip: Duration = .zero
        /// The node is stopping: rounds run without waiting, and no new ones start.
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    /// Rounds this node began (each a statement, or two with its look).
    let roundsBegun = Atomic<Int>(0)

    public init(
        client: PostgresClient,
        logger: Logger,
        window: Duration = .milliseconds(5),
        handOffWait: Duration = .milliseconds(20)
    ) {
        self.client = client
        self.logger = logger
        self.window = window
        self.handOffWait = handOffWait
    }

    /// Notes a statement wrote (`WorkQueue.Exchange.notes`): each batch's
    /// are handed off when another note of it was pending (and this node
    /// has no round of its own due for it), else its round is due within
    /// `window` (or `startedWait`, for a batch with only `started` notes:
    /// its items' ends may come first).
    public func notesCommitted(_ notes: [WorkQueue.Note], ended: Set<UUID>, startedWait: Duration) {
        for (batch, notes) in Dictionary(grouping: notes, by: \.batch) {
            let othersPending = notes.contains(where: \.othersPending)
            let wait = ended.contains(batch) ? window : max(startedWait, window)
            schedule(batch, after: wait, handedOff: othersPending ? Set(notes.map(\.seq)) : nil)
        }
    }

    /// The notes this node handed off and has not seen taken: its next
    /// statement asks whether they are still pending.
    public var handedOff: [(batch: UUID, seq: Int)] {
        state.withLockedValue { state in
            state.batches.flatMap { batch, pending in pending.handedOff.map { (batch, $0) } }
        }
    }

    /// A statement asked about `asked` (`handedOff`), and found
    /// `stillPending` of them: the others were taken by a round. A batch
    /// with nothing of this node's left to write needs no round from it.
    public func taken(asked: [(batch: UUID, seq: Int)], stillPending: Set<Int>) {
        let woken = state.withLockedValue { state -> [WakeSignal] in
            var woken: [WakeSignal] = []
            for (batch, seq) in asked where !stillPending.contains(seq) {
                guard var pending = state.batches[batch], pending.handedOff.remove(seq) != nil else { continue }
                if pending.handedOff.isEmpty, !pending.own, !pending.inRound {
                    pending.due = nil
                    woken.append(pending.wake)
                }
                state.batches[batch] = pending
            }
            return woken
        }
        for wake in woken { wake.signal() }
    }

    /// One of the node's statements took `took` (for `handOffWait`).
    public func statementTook(_ took: Duration) {
        // One statement stuck behind a restart counts for no more than this.
        let took = min(took, .seconds(10))
        state.withLockedValue { state in
            state.roundTrip = state.roundTrip == .zero ? took : (state.roundTrip * 7 + took) / 8
        }
    }

    /// Makes `batch`'s round due from this node `after` from now (if
    /// sooner than due already), for a note of its own (`handedOff` nil),
    /// or watches the notes `handedOff` (due `handOffWait` from now unless
    /// found taken), and starts its task if it has none.
    private func schedule(_ batch: UUID, after wait: Duration, handedOff: Set<Int>?) {
        let now = ContinuousClock.now
        let started = state.withLockedValue { state -> (Int, WakeSignal)? in
            if state.closed { return nil }
            // A note that goes with this node's own round is due `wait`
            // from now (an end brings a claim's round closer); a handed-off
            // one when its watch ends.
            let handOffDue = now + max(handOffWait, state.roundTrip * 2)
            if var pending = state.batches[batch] {
                defer { state.batches[batch] = pending }
                if pending.inRound {
                    // The round that runs now may have begun before the note's commit.
                    pending.again = true
                    return nil
                }
                let due: ContinuousClock.Instant
                if let handedOff, !pending.own {
                    pending.handedOff.formUnion(handedOff)
                    due = handOffDue
                } else {
                    // This node's round is due anyway: the note goes with it.
                    pending.own = true
                    due = now + wait
                }
                if pending.due.map({ due < $0 }) ?? true {
                    pending.due = due
                    pending.wake.signal()
                }
                return nil
            }
            state.numbered += 1
            var pending = Pending(number: state.numbered)
            pending.due = handedOff == nil ? now + wait : handOffDue
            pending.own = handedOff == nil
            pending.handedOff = handedOff ?? []
            state.batches[batch] = pending
            return (pending.number, pending.wake)
        }
        guard let (number, wake) = started else { return }
        let (client, logger, state) = (self.client, self.logger, self.state)
        // Its own task: the claim or end that noted it does not wait for its events.
        let task = Task {
            guard await Self.waitUntilDue(batch, number: number, wake: wake, state: state) else { return }
            while true {
                self.roundsBegun.add(1, ordering: .relaxed)
                let again: Bool
                do {
                    again = try await Self.roundAndLook(batch, client: client, logger: logger)
                } catch {
                    // The rescuer's sweep writes them if no later round does.
                    logger.warning(
                        "writing a batch's events failed; a later round or the rescuer's sweep writes them",
                        metadata: ["batch": "\(batch)", "error": "\(String(reflecting: error))"]
                    )
                    state.withLockedValue { state in
                        if state.batches[batch]?.number == number { state.batches[batch] = nil }
                    }
                    return
                }
                let more = state.withLockedValue { state -> Bool in
                    guard var pending = state.batches[batch], pending.number == number else { return false }
                    if again || pending.again {
                        pending.again = false
                        state.batches[batch] = pending
                        return true
                    }
                    state.batches[batch] = nil
                    return false
                }
                if !more { return }
            }
        }
        state.withLockedValue { state in
            // Unless it has ended already (and a successor may have begun).
            if state.batches[batch]?.number == number { state.batches[batch]?.task = task }
        }
    }

    /// Waits until `batch`'s round is due (a note may bring it closer; a
    /// stopping node does not wait), then marks it begun: true. False: no
    /// round is needed any more (its entry is removed).
    private static func waitUntilDue(_ batch: UUID, number: Int, wake: WakeSignal, state: NIOLockedValueBox<State>) async -> Bool {
        while true {
            let left = state.withLockedValue { state -> Duration? in
                guard var pending = state.batches[batch], pending.number == number else { return nil }
                guard let due = pending.due else {
                    state.batches[batch] = nil
                    return nil
                }
                let left = due - .now
                if left > .zero, !state.closed { return left }
                // Its round takes every note of this node's committed so far.
                pending.inRound = true
                pending.due = nil
                pending.own = false
                pending.handedOff = []
                state.batches[batch] = pending
                return .zero
            }
            guard let left else { return false }
            if left == .zero { return true }
            _ = await wake.wait(atMost: left)
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
        let batches = state.withLockedValue { state in
            state.closed = true
            return Array(state.batches.values)
        }
        for pending in batches { pending.wake.signal() }
        for case let task? in batches.map(\.task) { await task.value }
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
