import Foundation
import Logging
import PostgresNIO

/// The cluster's shared queue of batch items, in PostgreSQL: any node
/// enqueues, every node claims what its lanes can run, and only the holder
/// of an item's current lease may finish it.
///
/// Learnt from the Postgres queues that came before (River, Oban, Solid
/// Queue, pgmq): a claim is one short transaction (`FOR UPDATE SKIP
/// LOCKED`, so claimers never wait on each other); every claim gets a fresh
/// lease token, so an item taken back from a node that stalled past its
/// lease cannot be finished by that node when it wakes (fencing: rescue by
/// time alone runs jobs twice); a lease ends at a time the database keeps,
/// so no node's clock matters.
public struct WorkQueue: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Which items a pool takes: `gpu` items are those a GPU runs (GPU
    /// nodes take them first), `cpu` the rest.
    public enum Pool: String, Sendable, CaseIterable {
        case gpu, cpu
    }

    /// One item to enqueue.
    public struct NewItem: Sendable {
        public var source: String
        /// The upload's file name, or the source: the item's `filename`.
        public var name: String
        public var pool: Pool

        public init(source: String, name: String? = nil, pool: Pool) {
            self.source = source
            self.name = name ?? source
            self.pool = pool
        }
    }

    /// A batch as the queue keeps it.
    public struct NewBatch: Sendable {
        public var id: UUID
        public var recipeJSON: String
        public var placement: String
        public var strict: Bool
        public var destination: String?
        /// The tenant that posted it (an API key's name; `open` without keys).
        public var owner: String
        /// In every result's name: 32 hex digits, random per batch.
        public var resultToken: String

        public init(
            id: UUID = UUID(),
            recipeJSON: String,
            placement: String = "auto",
            strict: Bool = false,
            destination: String? = nil,
            owner: String = "open",
            resultToken: String = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        ) {
            self.owner = owner
            self.resultToken = resultToken
            self.id = id
            self.recipeJSON = recipeJSON
            self.placement = placement
            self.strict = strict
            self.destination = destination
        }
    }

    /// An item a node holds: what to run, and the lease that lets it finish it.
    public struct Claim: Sendable, Hashable {
        public var batchID: UUID
        public var index: Int
        public var source: String
        public var name: String
        public var pool: Pool
        /// Counting this one.
        public var attempts: Int
        public var token: UUID
        /// The batch's items, and those ended when it was claimed (for its
        /// `started` event's progress).
        public var batchTotal = 0
        public var batchEnded = 0
    }

    /// What a node claims: its own pools in the order it prefers them,
    /// and, after `othersAfter`, items of any pool still waiting (so that a
    /// GPU pool that is down or saturated never strands work).
    public struct ClaimPolicy: Sendable {
        public var pools: [Pool]
        public var othersAfter: Duration?

        public init(pools: [Pool], othersAfter: Duration? = nil) {
            self.pools = pools
            self.othersAfter = othersAfter
        }
    }

    /// Writes a batch, its items and their `queued` events in one
    /// transaction: all or nothing.
    public func enqueue(_ batch: NewBatch, items: [NewItem]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO calotype_batches (id, recipe, placement, strict, destination, total, owner, result_token)
                VALUES (
                    \(batch.id), \(batch.recipeJSON), \(batch.placement), \(batch.strict), \(batch.destination), \(items.count), \(batch.owner),
                    \(batch.resultToken)
                )
                """,
                logger: logger
            )
            // The first item's turn: after the tenant's own queued items, and
            // not before the oldest turn still queued (a tenant that was away
            // does not jump the queue by the turns it did not take). Item i
            // of the batch takes turn first + i, so tenants' items interleave.
            var first: Int64 = 0
            let turns = try await connection.query(
                """
                SELECT greatest(
                    coalesce((SELECT min(turn) FROM calotype_items WHERE state = 'queued'), 0),
                    coalesce((SELECT max(turn) + 1 FROM calotype_items WHERE state = 'queued' AND owner = \(batch.owner)), 0)
                )
                """,
                logger: logger
            )
            for try await turn in turns.decode(Int64.self) { first = turn }
            // In chunks: one statement per item would be 10,000 round trips.
            for start in stride(from: 0, to: items.count, by: 1000) {
                let chunk = items[start..<min(start + 1000, items.count)]
                let indices = chunk.indices.map { $0 }
                try await connection.query(
                    """
                    INSERT INTO calotype_items (batch_id, index, source, name, pool, owner, turn)
                    SELECT \(batch.id), item.index, item.source, item.name, item.pool, \(batch.owner), \(first) + item.index
                    FROM unnest(\(indices), \(chunk.map(\.source)), \(chunk.map(\.name)), \(chunk.map(\.pool.rawValue))) AS item(index, source, name, pool)
                    """,
                    logger: logger
                )
            }
            let queued = BatchLedger.queuedEvents(of: batch.id, names: items.map(\.name))
            for start in stride(from: 0, to: queued.count, by: 1000) {
                try await BatchEventLog.append(Array(queued[start..<min(start + 1000, queued.count)]), to: batch.id, on: connection, logger: logger)
            }
        }
    }

    /// Extends the leases `owner` still holds among `tokens` by `lease`
    /// from now; returns the tokens still held (an item taken back from a
    /// stalled node is missing: its holder must stop it).
    public func heartbeat(owner: String, tokens: [UUID], lease: Duration) async throws -> Set<UUID> {
        // The node's own heartbeat and its leases in one statement: 512
        // simulated nodes said two a beat, a third of a statement an item.
        // Its items locked in key order, as ends and cancels lock theirs.
        let rows = try await client.query(
            """
            WITH node AS (UPDATE calotype_nodes SET heartbeat_at = now() WHERE name = \(owner)), held AS (
                SELECT batch_id, index FROM calotype_items WHERE state = 'running' AND lease_owner = \(owner) AND lease_token = ANY(\(tokens))
                ORDER BY batch_id, index FOR UPDATE
            )
            UPDATE calotype_items AS item SET lease_until = now() + \(Self.milliseconds(lease)) * interval '1 millisecond'
            FROM held
            WHERE item.batch_id = held.batch_id AND item.index = held.index AND item.state = 'running' AND item.lease_owner = \(owner)
              AND item.lease_token = ANY(\(tokens))
            RETURNING item.lease_token
            """,
            logger: logger
        )
        var held = Set<UUID>()
        for try await token in rows.decode(UUID.self) { held.insert(token) }
        return held
    }

    /// How an item ended.
    public enum Ending: String, Sendable {
        case succeeded, failed
    }

    /// Gives claimed items back unfinished (a node draining at shutdown):
    /// queued again, their attempt not counted.
    public func release(_ claims: [Claim]) async throws {
        for claim in claims {
            try await client.query(
                """
                UPDATE calotype_items
                SET state = 'queued', attempts = greatest(attempts - 1, 0), lease_token = NULL, lease_owner = NULL, lease_until = NULL,
                    queued_at = now()
                WHERE batch_id = \(claim.batchID) AND index = \(claim.index) AND state = 'running' AND lease_token = \(claim.token)
                """,
                logger: logger
            )
        }
    }

    /// An item whose lease ended without its holder finishing it.
    public struct Expired: Sendable, Hashable {
        public var batchID: UUID
        public var index: Int
        /// True when it had used its attempts and is now `dead`; else it is queued again.
        public var dead: Bool
        public var attempts: Int
        /// Its `filename`.
        public var name: String
    }

    /// The leader's rescue (one node at a time: the others find the lock
    /// taken and return nil): items whose lease ended go back to the queue
    /// (an item whose end is being written now is left to it: `SKIP
    /// LOCKED`, so that the rescue never waits on a node's statement),
    /// or become `dead` after `maxAttempts`; `then` runs in the same
    /// transaction with what was rescued (the dead items' events).
    public func expireLeases(
        maxAttempts: Int,
        then: (PostgresConnection, [Expired]) async throws -> Void = { _, _ in }
    ) async throws -> [Expired]? {
        try await client.withTransaction(logger: logger) { connection in
            var leader = false
            for try await taken in try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.rescueLock))", logger: logger).decode(
                Bool.self
            ) {
                leader = taken
            }
            guard leader else { return nil }
            let rows = try await connection.query(
                """
                WITH expired AS (
                    SELECT batch_id, index FROM calotype_items WHERE state = 'running' AND lease_until < now()
                    ORDER BY batch_id, index FOR UPDATE SKIP LOCKED
                )
                UPDATE calotype_items AS item
                SET state = CASE WHEN item.attempts >= \(maxAttempts) THEN 'dead' ELSE 'queued' END,
                    lease_token = NULL, lease_owner = NULL, lease_until = NULL, queued_at = now()
                FROM expired
                WHERE item.batch_id = expired.batch_id AND item.index = expired.index AND item.state = 'running' AND item.lease_until < now()
                RETURNING item.batch_id, item.index, item.state, item.attempts, item.name
                """,
                logger: logger
            )
            var expired: [Expired] = []
            for try await (batchID, index, state, attempts, name) in rows.decode((UUID, Int, String, Int, String).self) {
                expired.append(Expired(batchID: batchID, index: index, dead: state == "dead", attempts: attempts, name: name))
            }
            try await then(connection, expired)
            return expired
        }
    }

    /// The advisory lock of the rescuing leader ("CALO" + 2).
    static let rescueLock: Int64 = 0x4341_4C4F_0002

    /// Records `node` as a member (or again, after a restart), with its workers.
    public func register(node: String, cpuWorkers: Int, gpuWorkers: Int) async throws {
        try await client.query(
            """
            INSERT INTO calotype_nodes (name, cpu_workers, gpu_workers) VALUES (\(node), \(cpuWorkers), \(gpuWorkers))
            ON CONFLICT (name) DO UPDATE SET cpu_workers = excluded.cpu_workers, gpu_workers = excluded.gpu_workers,
                started_at = now(), heartbeat_at = now()
            """,
            logger: logger
        )
    }

    /// A member node, as `GET /cluster` will list it.
    public struct Node: Sendable, Hashable {
        public var name: String
        public var cpuWorkers: Int
        public var gpuWorkers: Int
        /// Seconds since its last heartbeat, by the database's clock.
        public var silentSeconds: Double
        /// Items it holds now.
        public var running: Int
    }

    /// The nodes, with the items each holds.
    public func nodes() async throws -> [Node] {
        let rows = try await client.query(
            """
            SELECT n.name, n.cpu_workers, n.gpu_workers, extract(epoch FROM now() - n.heartbeat_at)::float8,
                   (SELECT count(*)::int FROM calotype_items i WHERE i.state = 'running' AND i.lease_owner = n.name)
            FROM calotype_nodes n ORDER BY n.name
            """,
            logger: logger
        )
        var nodes: [Node] = []
        for try await (name, cpu, gpu, silent, running) in rows.decode((String, Int, Int, Double, Int).self) {
            nodes.append(Node(name: name, cpuWorkers: cpu, gpuWorkers: gpu, silentSeconds: silent, running: running))
        }
        return nodes
    }

    /// The items waiting for each pool: what an autoscaler scales a pool
    /// on. The query, for KEDA's postgresql scaler, is `queuedItemsQuery`.
    public func queued() async throws -> [Pool: Int] {
        var counts: [Pool: Int] = [:]
        let rows = try await client.query("SELECT pool, count(*)::int FROM calotype_items WHERE state = 'queued' GROUP BY pool", logger: logger)
        for try await (pool, count) in rows.decode((String, Int).self) {
            if let pool = Pool(rawValue: pool) { counts[pool] = count }
        }
        return counts
    }

    /// The SQL an autoscaler runs for one pool (`$POOL`: gpu or cpu); it
    /// reads the partial index of queued items, so it stays cheap.
    public static let queuedItemsQuery = "SELECT count(*) FROM calotype_items WHERE state = 'queued' AND pool = '$POOL'"

    /// Items per state, for `/stats`, `/metrics` and autoscalers.
    public func counts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let rows = try await client.query("SELECT state, count(*)::int FROM calotype_items GROUP BY state", logger: logger)
        for try await (state, count) in rows.decode((String, Int).self) { counts[state] = count }
        return counts
    }

    /// Every state an item can be in.
    public static let itemStates = ["queued", "running", "succeeded", "failed", "dead", "cancelled"]

    public struct ItemCount: Sendable, Hashable {
        public var state: String
        public var pool: Pool
        public var count: Int
    }

    /// Items per state and pool (`calotype_cluster_items`).
    public func countsByPool() async throws -> [ItemCount] {
        var counts: [ItemCount] = []
        let rows = try await client.query("SELECT state, pool, count(*)::int FROM calotype_items GROUP BY state, pool", logger: logger)
        for try await (state, pool, count) in rows.decode((String, String, Int).self) {
            if let pool = Pool(rawValue: pool) { counts.append(ItemCount(state: state, pool: pool, count: count)) }
        }
        return counts
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
