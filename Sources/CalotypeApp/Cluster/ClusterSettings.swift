import CalotypeCluster
import Foundation
import Logging
import PostgresNIO

/// Cluster mode's settings: `CALOTYPE_DATABASE_URL` (postgres://..., a
/// secret: it may carry a password, and may come from the secrets folder)
/// turns it on, and then `CALOTYPE_RESULTS_URL` must be an S3 prefix
/// (results must be readable from every node); `CALOTYPE_NODE_NAME` names
/// the node (default: the host name).
public struct ClusterSettings: Sendable {
    public var databaseURL: String
    public var nodeName: String
    /// How long a claim lasts without a heartbeat (`CALOTYPE_LEASE` seconds,
    /// default 30): a node that dies loses its items this long after its
    /// last heartbeat, and heartbeats come every third of it.
    public var lease: Duration = .seconds(30)
    /// Claims of one item before it is `dead` (`CALOTYPE_MAX_ATTEMPTS`, default 3).
    public var maxAttempts = 3
    /// How long a GPU item waits for a GPU node before CPU nodes take it
    /// (`CALOTYPE_GPU_WAIT` seconds, default 10).
    public var gpuWait: Duration = .seconds(10)

    /// nil when `CALOTYPE_DATABASE_URL` is not set (one node, the default).
    public static func read(from settings: Settings, requireSharedResults: Bool = true) throws(ConfigurationError) -> ClusterSettings? {
        guard let url = settings.secret("CALOTYPE_DATABASE_URL") else { return nil }
        do {
            _ = try ClusterDatabase.configuration(url: url)
        } catch {
            throw ConfigurationError(variable: "CALOTYPE_DATABASE_URL", value: "(secret)", allowed: error.description)
        }
        if requireSharedResults, !(settings.string("CALOTYPE_RESULTS_URL") ?? "").lowercased().hasPrefix("s3://") {
            throw ConfigurationError(
                variable: "CALOTYPE_RESULTS_URL",
                value: settings.string("CALOTYPE_RESULTS_URL") ?? "",
                allowed: "s3://bucket/prefix/ in cluster mode (CALOTYPE_DATABASE_URL is set): every node must read every result"
            )
        }
        let nodeName = settings.string("CALOTYPE_NODE_NAME") ?? ProcessInfo.processInfo.hostName
        var cluster = ClusterSettings(databaseURL: url, nodeName: nodeName)
        if let seconds = try settings.integer("CALOTYPE_LEASE", in: 3...3600) { cluster.lease = .seconds(seconds) }
        if let attempts = try settings.integer("CALOTYPE_MAX_ATTEMPTS", in: 1...100) { cluster.maxAttempts = attempts }
        if let seconds = try settings.integer("CALOTYPE_GPU_WAIT", in: 0...3600) { cluster.gpuWait = .seconds(seconds) }
        return cluster
    }
}

extension ClusterSettings {
    /// The schema version this build's migrations reach.
    public static var schemaVersion: Int { ClusterSchema.latestVersion }

    /// Applies the schema to the database (`calotype migrate`, and every
    /// node at start); returns the versions applied now.
    /// A database that cannot be reached fails it after `timeout` (the
    /// client's pool would otherwise keep trying to connect).
    public func migrate(logger: Logger, timeout: Duration = .seconds(10)) async throws -> [Int] {
        let client = PostgresClient(configuration: try ClusterDatabase.configuration(url: databaseURL), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: [Int]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask { try await ClusterSchema.migrate(client, logger: logger) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ClusterError.unreachable(timeout)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            return []
        }
    }

    /// An error of the cluster's in its own words; PostgreSQL's with its
    /// details (which never include the password).
    public static func describe(_ error: any Error) -> String {
        error is ClusterError ? "\(error)" : String(reflecting: error)
    }

    /// The database URL without its password, for messages.
    public var redactedDatabaseURL: String {
        guard var components = URLComponents(string: databaseURL) else { return "the database" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "the database"
    }
}
