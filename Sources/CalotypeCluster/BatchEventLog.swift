import Foundation
import Logging
import PostgresNIO

/// Every event of a batch as a row, numbered 1...n per batch without gaps,
/// so that any node can replay a stream from `Last-Event-ID` and follow it
/// (`LISTEN calotype_events`, told `batch:id` at each commit).
public struct BatchEventLog: Sendable {
    public static let channel = "calotype_events"

    public struct Event: Sendable, Hashable {
        public var id: Int
        public var name: String
        public var data: String

        public init(id: Int, name: String, data: String) {
            self.id = id
            self.name = name
            self.data = data
        }
    }

    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Appends `events` (name, JSON data) to `batch` on `connection`, inside
    /// the caller's transaction: the batch's row is the counter, so appends
    /// to one batch take turns and their ids never skip or repeat, and the
    /// events appear (and are announced) only if that transaction commits.
    /// One statement: the counter, the rows and the notification. Returns
    /// their ids.
    @discardableResult
    public static func append(
        _ events: [(name: String, data: String)],
        to batch: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Int] {
        guard !events.isEmpty else { return [] }
        let batchText = batch.uuidString.lowercased()
        var last = 0
        let rows = try await connection.query(
            """
            WITH counter AS (
                UPDATE calotype_batches SET last_event_id = last_event_id + \(events.count) WHERE id = \(batch) RETURNING last_event_id
            ), inserted AS (
                INSERT INTO calotype_events (batch_id, id, name, data)
                SELECT \(batch), counter.last_event_id - \(events.count) + given.ord, given.name, given.data
                FROM counter, unnest(\(events.map(\.name)), \(events.map(\.data))) WITH ORDINALITY AS given(name, data, ord)
            )
            SELECT last_event_id, pg_notify(\(channel), \(batchText) || ':' || last_event_id)::text FROM counter
            """,
            logger: logger
        )
        for try await (value, _) in rows.decode((Int, String).self) { last = value }
        return last == 0 ? [] : Array((last - events.count + 1)...last)
    }

    /// Inserts `events` whose ids the caller has taken from the batch's
    /// counter (in this transaction), and announces the last: one statement.
    static func insert(
        _ events: [(name: String, data: String)],
        ids: [Int],
        of batch: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard let last = ids.last else { return }
        try await connection.query(
            """
            WITH inserted AS (
                INSERT INTO calotype_events (batch_id, id, name, data)
                SELECT \(batch), * FROM unnest(\(ids), \(events.map(\.name)), \(events.map(\.data)))
            )
            SELECT pg_notify(\(channel), \("\(batch.uuidString.lowercased()):\(last)"))::text
            """,
            logger: logger
        )
    }

    /// Appends on a connection of the pool: one statement, so a
    /// transaction of its own.
    @discardableResult
    public func append(_ events: [(name: String, data: String)], to batch: UUID) async throws -> [Int] {
        try await client.withConnection { connection in
            try await Self.append(events, to: batch, on: connection, logger: logger)
        }
    }

    /// The most events one read returns.
    public static let pageSize = 1000

    /// The events of `batch` after `lastEventID`, in order, at most `limit`.
    public func events(of batch: UUID, after lastEventID: Int, limit: Int = pageSize) async throws -> [Event] {
        let rows = try await client.query(
            """
            SELECT id, name, data FROM calotype_events
            WHERE batch_id = \(batch) AND id > \(lastEventID) ORDER BY id LIMIT \(limit)
            """,
            logger: logger
        )
        var events: [Event] = []
        for try await (id, name, data) in rows.decode((Int, String, String).self) {
            events.append(Event(id: id, name: name, data: data))
        }
        return events
    }
}
