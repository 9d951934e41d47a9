import CalotypeCore
import Foundation
import Logging
import PostgresNIO

extension WorkQueue {
    /// An item's end as the queue records it: the item's row, fenced by
    /// its claim's token, and its `result` or `error` event, noted beside
    /// it for `BatchSequencer` to number.
    public struct EndNote: Sendable {
        public let claim: Claim
        let state: Ending
        /// The item as the API answers it (`calotype_items.outcome`).
        let outcome: String
        /// Its end's event: `result` or `error`, and its JSON.
        let event: String
        let data: String

        public init(_ claim: Claim, _ end: ItemEnd, outcome: String) {
            self.claim = claim
            self.outcome = outcome
            state = end.state == .succeeded ? .succeeded : .failed
            let item = end.item
            let event: APIBatchEvent =
                if let error = item.error {
                    .error(
                        .init(
                            batchID: claim.batchID.uuidString.lowercased(),
                            index: item.index,
                            filename: item.filename,
                            code: error.code,
                            message: error.message
                        )
                    )
                } else {
                    .result(item)
                }
            self.event = event.name.rawValue
            data = event.data
        }
    }

    /// What one `endAndClaim` did: the items it claimed, and the tokens of
    /// the ends it recorded (an end whose token is missing came after its
    /// lease was lost: nothing was written, and its result must be discarded).
    public struct Exchange: Sendable {
        public var claims: [Claim] = []
        public var accepted: Set<UUID> = []
        /// The notes it wrote (`started`s and ends), for `BatchSequencer`.
        public var notes: [Note] = []
        /// Of the handed-off notes it was given, those still pending.
        public var stillPending: Set<Int> = []
    }

    /// A note a statement wrote: its batch, its `seq`, and whether
    /// another note of the batch was pending when the statement began
    /// (`othersPending`: another node's round is due, and takes it too).
    public struct Note: Sendable, Hashable {
        public var batch: UUID
        public var seq: Int
        public var othersPending: Bool
    }

    /// Records `ends` and claims up to `limit` queued items for `owner`
    /// under `policy`, each with a fresh lease token ending `lease` from
    /// now (the database's now), in one statement (`EndAndClaimStatement`).
    ///
    /// The batch's row is not touched here. Every end of a batch used to
    /// update it (its counts, its event counter) and so waited for the end
    /// before it to commit, its flush to disk included: 32 simulated nodes
    /// ended fewer items a second than 8 (`calotype bench --cluster-sim`,
    /// 171 against 299). An end and the next claim used to be a statement
    /// each: one statement an item fewer.
    ///
    /// `handedOff`: the node's notes it left to other nodes' rounds; the
    /// answer says which are still pending (`BatchSequencer.handedOff`).
    public func endAndClaim(
        _ ends: [EndNote],
        owner: String,
        policy: ClaimPolicy,
        limit: Int,
        lease: Duration,
        handedOff: [(batch: UUID, seq: Int)] = []
    ) async throws -> Exchange {
        let limit = policy.pools.isEmpty ? 0 : max(0, limit)
        guard limit > 0 || !ends.isEmpty || !handedOff.isEmpty else { return Exchange() }
        let pools = policy.pools.map(\.rawValue)
        let preferred = policy.pools.first ?? .cpu
        // -1: never take other pools' items.
        let othersAfter = policy.othersAfter.map(Self.milliseconds) ?? -1
        let rows = try await client.execute(
            EndAndClaimStatement(
                pools: pools,
                othersAfter: othersAfter,
                preferred: preferred.rawValue,
                other: (Pool.allCases.first { $0 != preferred } ?? preferred).rawValue,
                limit: limit,
                owner: owner,
                lease: Self.milliseconds(lease),
                ends: ends,
                handedOff: handedOff
            ),
            logger: logger
        )
        var exchange = Exchange()
        for try await (kind, batchID, index, source, name, pool, attempts, token, total, endedInBatch) in rows {
            switch EndAndClaimStatement.RowKind(rawValue: kind) {
            case .ended:
                exchange.accepted.insert(token)
                continue
            case .noted:
                exchange.notes.append(Note(batch: batchID, seq: index, othersPending: attempts != 0))
                continue
            case .stillPending:
                exchange.stillPending.insert(index)
                continue
            case nil:
                // The statement writes no other kind.
                continue
            case .claimed:
                break
            }
            exchange.claims.append(
                Claim(
                    batchID: batchID,
                    index: index,
                    source: source,
                    name: name,
                    pool: Pool(rawValue: pool) ?? .cpu,
                    attempts: attempts,
                    token: token,
                    batchTotal: total,
                    batchEnded: endedInBatch
                )
            )
        }
        exchange.claims.sort { ($0.batchID.uuidString, $0.index) < ($1.batchID.uuidString, $1.index) }
        return exchange
    }

    /// Claims up to `limit` queued items (`endAndClaim` with no ends), and
    /// notes that each started, in the same statement: no round trip of
    /// its own, and no lock on the batch (`BatchSequencer` words the
    /// `started` events).
    public func claim(owner: String, policy: ClaimPolicy, limit: Int, lease: Duration) async throws -> [Claim] {
        try await endAndClaim([], owner: owner, policy: policy, limit: limit, lease: lease).claims
    }

    /// Ends the item of `claim` as `end` says (`endAndClaim` claiming
    /// nothing). False: the lease was lost (nothing is written; the result
    /// must be discarded).
    public func finish(_ claim: Claim, _ end: ItemEnd, outcome: String) async throws -> Bool {
        let exchange = try await endAndClaim(
            [EndNote(claim, end, outcome: outcome)],
            owner: "",
            policy: ClaimPolicy(pools: []),
            limit: 0,
            lease: .zero
        )
        return exchange.accepted.contains(claim.token)
    }
}
