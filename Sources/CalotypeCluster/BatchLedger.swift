import CalotypeCore
import Foundation
import Logging
import PostgresNIO

/// How one item of a batch ended, as the API tells it.
public struct ItemEnd: Sendable {
    /// The item's final state in `calotype_items`.
    public enum State: String, Sendable {
        case succeeded, failed, dead, cancelled
    }

    public var state: State
    /// The API's item: its result, or its error.
    public var item: APIBatchItem

    public init(state: State, item: APIBatchItem) {
        self.state = state
        self.item = item
    }
}

/// The events of a cluster batch, worded exactly as a single node words
/// them (`progress`, `result`, `error`, `complete`) and written in the
/// transactions that change the items, so that the stream and the items
/// never disagree: an item's `result` or `error` is in the log if and only
/// if the item ended, and `complete` is appended by whichever transaction
/// ends the last item.
///
/// The batch's row counts its ended items (`succeeded`, `failed`,
/// `cancelled`); it is locked by the first statement here, so transactions
/// of one batch take turns and each sees the others' counts.
public enum BatchLedger {
    /// The counts a batch's events are worded from.
    struct Tally {
        var total: Int
        var succeeded: Int
        var failed: Int
        var cancelled: Int
        var elapsedMs: Double

        var ended: Int { succeeded + failed + cancelled }
    }

    /// Records `ends` (items of `batch` whose state the caller has just
    /// changed, in this transaction): stores the outcome of those that have
    /// none yet (dead and cancelled items), appends each one's `result` or
    /// `error` and its `done` progress, and `complete` when no item is left.
    public static func record(_ ends: [ItemEnd], of batch: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        guard !ends.isEmpty else { return }
        // What is noted of the batch's items first, under its lock: their
        // `started` and ends go before these (and before `complete`).
        try await connection.query("SELECT id FROM calotype_batches WHERE id = \(batch) FOR UPDATE", logger: logger)
        try await BatchSequencer.round(batch, on: connection, logger: logger)
        let succeeded = ends.count { $0.state == .succeeded }
        let cancelled = ends.count { $0.state == .cancelled }
        let failed = ends.count - succeeded - cancelled
        let count = ends.count
        // One statement: the counts, the event counter (a `result` or `error`
        // and a `done` per item, and `complete` if these were the last), and
        // the batch's end. SET reads the row as it was.
        var after: (tally: Tally, lastEventID: Int)?
        let rows = try await connection.query(
            """
            UPDATE calotype_batches
            SET succeeded = succeeded + \(succeeded), failed = failed + \(failed), cancelled = cancelled + \(cancelled),
                last_event_id = last_event_id + \(2 * count) + CASE WHEN succeeded + failed + cancelled + \(count) >= total THEN 1 ELSE 0 END,
                state = CASE WHEN succeeded + failed + cancelled + \(count) >= total AND state = 'running' THEN 'completed' ELSE state END,
                finished_at = CASE WHEN succeeded + failed + cancelled + \(count) >= total THEN now() ELSE finished_at END
            WHERE id = \(batch)
            RETURNING total, succeeded, failed, cancelled, last_event_id, (extract(epoch FROM now() - created_at) * 1000)::float8
            """,
            logger: logger
        )
        for try await (total, succeeded, failed, cancelled, lastEventID, elapsed) in rows.decode((Int, Int, Int, Int, Int, Double).self) {
            after = (Tally(total: total, succeeded: succeeded, failed: failed, cancelled: cancelled, elapsedMs: elapsed), lastEventID)
        }
        guard let (tally, lastEventID) = after else { return }

        let unrecorded = ends.filter { $0.state == .dead || $0.state == .cancelled }
        if !unrecorded.isEmpty {
            let outcomes = try unrecorded.map { String(decoding: try APIJSON.encode($0.item), as: UTF8.self) }
            try await connection.query(
                """
                UPDATE calotype_items AS item SET outcome = given.outcome
                FROM unnest(\(unrecorded.map(\.item.index)), \(outcomes)) AS given(index, outcome)
                WHERE item.batch_id = \(batch) AND item.index = given.index
                """,
                logger: logger
            )
        }

        let batchID = batch.uuidString.lowercased()
        var events: [APIBatchEvent] = []
        var completed = tally.ended - ends.count
        for end in ends {
            completed += 1
            let item = end.item
            if let error = item.error {
                events.append(.error(.init(batchID: batchID, index: item.index, filename: item.filename, code: error.code, message: error.message)))
            } else {
                events.append(.result(item))
            }
            events.append(
                .progress(.init(batchID: batchID, index: item.index, filename: item.filename, stage: .done, completed: completed, total: tally.total))
            )
        }
        if tally.ended >= tally.total {
            events.append(
                .complete(
                    APIBatchSummary(
                        batchID: batchID,
                        total: tally.total,
                        succeeded: tally.succeeded,
                        failed: tally.failed,
                        cancelled: tally.cancelled,
                        durationMs: tally.elapsedMs
                    )
                )
            )
        }
        let ids = Array((lastEventID - events.count + 1)...lastEventID)
        try await BatchEventLog.insert(events.map(Self.row), ids: ids, of: batch, on: connection, logger: logger)
    }

    /// The `queued` progress of every item of a new batch.
    static func queuedEvents(of batch: UUID, names: [String]) -> [(name: String, data: String)] {
        let batchID = batch.uuidString.lowercased()
        return names.enumerated().map { index, name in
            row(.progress(.init(batchID: batchID, index: index, filename: name, stage: .queued, completed: 0, total: names.count)))
        }
    }

    static func row(_ event: APIBatchEvent) -> (name: String, data: String) {
        (event.name.rawValue, event.data)
    }
}
