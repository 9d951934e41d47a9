import CalotypeCore
import Foundation
import Logging
import PostgresNIO

extension WorkQueue {
    /// Ends the item of `claim` as `end` says, in one statement: the item's
    /// row, fenced by the claim's token, and the note of its end
    /// (`calotype_pending_events`, with its `result` or `error` event) from
    /// which `BatchSequencer` writes its events and counts it. False: the
    /// lease was lost (nothing is written; the result must be discarded).
    ///
    /// The batch's row is not touched here. Every end of a batch used to
    /// update it (its counts, its event counter) and so waited for the end
    /// before it to commit, its flush to disk included: 32 simulated nodes
    /// ended fewer items a second than 8 (`calotype bench --cluster-sim`,
    /// 171 against 299).
    public func finish(_ claim: Claim, _ end: ItemEnd, outcome: String) async throws -> Bool {
        let state: Ending = end.state == .succeeded ? .succeeded : .failed
        let item = end.item
        let batchID = claim.batchID.uuidString.lowercased()
        let event: APIBatchEvent =
            if let error = item.error {
                .error(.init(batchID: batchID, index: item.index, filename: item.filename, code: error.code, message: error.message))
            } else {
                .result(item)
            }
        let rows = try await client.execute(
            FinishStatement(
                batch: claim.batchID,
                index: claim.index,
                token: claim.token,
                state: state.rawValue,
                outcome: outcome,
                event: event.name.rawValue,
                data: event.data,
                succeeded: state == .succeeded
            ),
            logger: logger
        )
        var finished = false
        for try await _ in rows { finished = true }
        return finished
    }
}
