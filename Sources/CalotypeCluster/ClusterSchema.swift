import Logging
import PostgresNIO

/// The cluster's tables, versioned: each migration is applied once, in
/// order, in one transaction under an advisory lock, so that nodes starting
/// together (or `calotype migrate` beside them) apply each exactly once.
public enum ClusterSchema {
    /// The advisory lock migrations hold ("CALO" + 1).
    static let migrationLock: Int64 = 0x4341_4C4F_0001

    /// Migrations in order; the version of each is its position, from 1.
    /// Never edit one that has shipped: add the next.
    static let migrations: [[PostgresQuery]] = [
        [
            """
            CREATE TABLE calotype_batches (
                id uuid PRIMARY KEY,
                -- What every item runs: the recipe as JSON, where it may run.
                recipe text NOT NULL,
                placement text NOT NULL,
                strict boolean NOT NULL,
                destination text,
                total integer NOT NULL,
                -- running, completed, cancelled
                state text NOT NULL DEFAULT 'running',
                -- The id of its latest event: events are numbered 1...n per batch.
                last_event_id bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz
            )
            """,
            """
            CREATE TABLE calotype_items (
                batch_id uuid NOT NULL REFERENCES calotype_batches (id) ON DELETE CASCADE,
                index integer NOT NULL,
                -- An s3:// key (an upload staged there) or a source reference.
                source text NOT NULL,
                -- The upload's file name, or the source: the item's filename.
                name text NOT NULL,
                -- gpu: a GPU runs its recipe (GPU nodes take these first); cpu: the rest.
                pool text NOT NULL,
                -- queued, running, succeeded, failed, dead, cancelled
                state text NOT NULL DEFAULT 'queued',
                attempts integer NOT NULL DEFAULT 0,
                -- A fresh token per claim: only its holder may finish the item (fencing).
                lease_token uuid,
                lease_owner text,
                lease_until timestamptz,
                queued_at timestamptz NOT NULL DEFAULT now(),
                -- The finished item (the API's batch item), as JSON.
                outcome text,
                PRIMARY KEY (batch_id, index)
            )
            """,
            "CREATE INDEX calotype_items_queued ON calotype_items (pool, queued_at) WHERE state = 'queued'",
            "CREATE INDEX calotype_items_leases ON calotype_items (lease_until) WHERE state = 'running'",
            """
            CREATE TABLE calotype_events (
                batch_id uuid NOT NULL REFERENCES calotype_batches (id) ON DELETE CASCADE,
                id bigint NOT NULL,
                name text NOT NULL,
                data text NOT NULL,
                PRIMARY KEY (batch_id, id)
            )
            """,
            """
            CREATE TABLE calotype_nodes (
                name text PRIMARY KEY,
                cpu_workers integer NOT NULL,
                gpu_workers integer NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ],
        [
            // Items ended per way, kept on the batch's row (the lock every
            // event append takes anyway): the progress and `complete` events
            // are worded from them without counting the items.
            "ALTER TABLE calotype_batches ADD COLUMN succeeded integer NOT NULL DEFAULT 0",
            "ALTER TABLE calotype_batches ADD COLUMN failed integer NOT NULL DEFAULT 0",
            "ALTER TABLE calotype_batches ADD COLUMN cancelled integer NOT NULL DEFAULT 0",
            "CREATE INDEX calotype_batches_finished ON calotype_batches (finished_at) WHERE finished_at IS NOT NULL",
        ],
        [
            // The tenant that posted the batch: any node answers its status,
            // events and cancel to that tenant (or an admin) only. Batches
            // from before keys were known were posted to open servers.
            "ALTER TABLE calotype_batches ADD COLUMN owner text NOT NULL DEFAULT 'open'",
            // In every result's name, so that its url is not the batch id's to
            // guess; a batch from before gets a random one of its own.
            "ALTER TABLE calotype_batches ADD COLUMN result_token text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')",
            // Tenants take turns in the queue: each item's turn is given at
            // enqueue (start-time fair queuing: a tenant's next batch starts
            // after its queued items, and never before the queue's oldest
            // turn), and nodes claim in turn order. The owner is kept on the
            // item for the per-tenant look-up of its last turn.
            "ALTER TABLE calotype_items ADD COLUMN owner text NOT NULL DEFAULT 'open'",
            "ALTER TABLE calotype_items ADD COLUMN turn bigint NOT NULL DEFAULT 0",
            "DROP INDEX calotype_items_queued",
            "CREATE INDEX calotype_items_queued ON calotype_items (pool, turn, queued_at) WHERE state = 'queued'",
            "CREATE INDEX calotype_items_queued_turns ON calotype_items (turn) WHERE state = 'queued'",
            "CREATE INDEX calotype_items_owner_turns ON calotype_items (owner, turn) WHERE state = 'queued'",
        ],
        [
            // What happened to items (a claim, an end) and is not yet in
            // their batch's numbered log: a claim or an end writes a row here
            // without touching the batch's row, and `BatchSequencer` turns
            // every row of a batch into its events at once, under the
            // batch's lock (taken once for many items, not once per item).
            // No foreign key to the batch: its check would take a share lock
            // on the batch's row, and every note would wait for the round
            // that holds it (forgetting a batch removes its notes itself).
            """
            CREATE TABLE calotype_pending_events (
                batch_id uuid NOT NULL,
                seq bigint GENERATED ALWAYS AS IDENTITY,
                index integer NOT NULL,
                -- The item's filename.
                name text NOT NULL,
                -- started, result or error
                kind text NOT NULL,
                -- A result's or error's event, as JSON (none for started).
                data text,
                succeeded boolean NOT NULL DEFAULT false,
                PRIMARY KEY (batch_id, seq)
            )
            """
        ],
    ]

    /// The version this build's migrations reach.
    public static var latestVersion: Int { migrations.count }

    /// Applies the migrations the database lacks; returns the versions
    /// applied now (empty when it was up to date). Refuses a database whose
    /// schema is newer than this build's.
    @discardableResult
    public static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS calotype_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
            var current = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM calotype_schema", logger: logger).decode(
                Int.self
            ) {
                current = version
            }
            guard current <= latestVersion else { throw ClusterError.schemaTooNew(found: current, known: latestVersion) }
            var applied: [Int] = []
            for (offset, statements) in migrations.enumerated() where offset + 1 > current {
                for statement in statements {
                    try await connection.query(statement, logger: logger)
                }
                let version = offset + 1
                try await connection.query("INSERT INTO calotype_schema (version) VALUES (\(version))", logger: logger)
                applied.append(version)
            }
            return applied
        }
    }
}
