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
    /// Returns their ids.
    @discardableResult
    public static func append(
        _ events: [(name: String, data: String)], to batch: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        guard !events.isEmpty else { return [] }
        var last = 0
        let rows = try await connection.query(
            "UPDATE calotype_batches SET last_event_id = last_event_id + \(events.count) WHERE id = \(batch) RETURNING last_event_id",
            logger: logger)
        for try await value in rows.decode(Int.self) { last = value }
        let first = last - events.count + 1
        let ids = Array(first...last)
        try await connection.query(
            """
            INSERT INTO calotype_events (batch_id, id, name, data)
            SELECT \(batch), * FROM unnest(\(ids), \(events.map(\.name)), \(events.map(\.data)))
            """, logger: logger)
        try await connection.query("SELECT pg_notify(\(channel), \("\(batch.uuidString.lowercased()):\(last)"))", logger: logger)
        return ids
    }

    /// Appends in a transaction of its own.
    @discardableResult
    public func append(_ events: [(name: String, data: String)], to batch: UUID) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
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
            """, logger: logger)
        var events: [Event] = []
        for try await (id, name, data) in rows.decode((Int, String, String).self) {
            events.append(Event(id: id, name: name, data: data))
        }
        return events
    }
}
