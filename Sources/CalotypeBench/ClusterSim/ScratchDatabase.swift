import CalotypeCluster
import Foundation
import Logging
import PostgresNIO

/// A database of the simulation's own on the server `--database-url`
/// names (`calotype_sim_` and random hex), made for one run and dropped
/// after it: the simulation never touches a real cluster's tables.
struct ScratchDatabase: Sendable {
    /// The scratch database's name.
    let name: String
    /// Connections to the scratch database, as a node makes them.
    let configuration: PostgresClient.Configuration
    private let server: PostgresClient.Configuration

    /// Makes the database (the URL's user needs `CREATEDB`) and its schema.
    static func create(serverURL: String, logger: Logger) async throws -> ScratchDatabase {
        let server = try ClusterDatabase.configuration(url: serverURL)
        let name = "calotype_sim_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        // A server that does not answer is an error within `connectLimit`:
        // the pool would wait for a connection as long as it is away.
        try await within(connectLimit, "the PostgreSQL server did not answer within \(connectLimit)") {
            try await withClient(server, logger: logger) { client in
                // A name made here, never from input: safe to splice.
                _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            }
        }
        var configuration = server
        configuration.database = name
        let scratch = ScratchDatabase(name: name, configuration: configuration, server: server)
        try await withClient(configuration, logger: logger) { client in
            _ = try await ClusterSchema.migrate(client, logger: logger)
        }
        return scratch
    }

    static let connectLimit: Duration = .seconds(10)

    /// `operation`, or `SimulationError.unreachable` once `limit` has
    /// passed; cancelling it stops its client, which fails its queries.
    static func within(_ limit: Duration, _ message: String, _ operation: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw SimulationError.unreachable(message)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Drops the database, ending any connection still open to it.
    func drop(logger: Logger) async throws {
        try await Self.withClient(server, logger: logger) { client in
            _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// Runs `body` with a client of its own, running for as long as it does.
    @discardableResult
    static func withClient<T: Sendable>(
        _ configuration: PostgresClient.Configuration,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        var quiet = logger
        quiet.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Where the server's write-ahead log is, in bytes (the whole
    /// server's: the simulation's database is all that writes there during
    /// a run on a server of its own); nil where it cannot be read.
    static func walPosition(on client: PostgresClient, logger: Logger) async -> Int? {
        do {
            var position: Int?
            let rows = try await client.query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8", logger: logger)
            for try await value in rows.decode(Int.self) { position = value }
            return position
        } catch {
            logger.notice("the WAL's position is not read", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }

    /// The statements run in this database so far, by statement, from
    /// `pg_stat_statements`; nil where the server has not loaded it
    /// (`shared_preload_libraries`). BEGIN and COMMIT count: each is a
    /// round trip.
    static func statements(on client: PostgresClient, logger: Logger) async -> [String: StatementCount]? {
        do {
            try await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", logger: logger)
            let rows = try await client.query(
                """
                SELECT queryid::text, query, calls::int8, total_exec_time::float8 FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
                """,
                logger: logger
            )
            var counts: [String: StatementCount] = [:]
            for try await (id, query, calls, milliseconds) in rows.decode((String, String, Int, Double).self) {
                counts[id] = StatementCount(query: query, calls: calls, milliseconds: milliseconds)
            }
            return counts
        } catch {
            logger.notice(
                "statements are not counted: pg_stat_statements is not loaded on this server (shared_preload_libraries)",
                metadata: ["error": "\(String(reflecting: error))"]
            )
            return nil
        }
    }
}

/// Why a simulation could not run.
enum SimulationError: Error, CustomStringConvertible {
    case unreachable(String)

    var description: String {
        switch self {
        case .unreachable(let message): message
        }
    }
}
