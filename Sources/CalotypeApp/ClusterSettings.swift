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
                variable: "CALOTYPE_RESULTS_URL", value: settings.string("CALOTYPE_RESULTS_URL") ?? "",
                allowed: "s3://bucket/prefix/ in cluster mode (CALOTYPE_DATABASE_URL is set): every node must read every result")
        }
        let nodeName = settings.string("CALOTYPE_NODE_NAME") ?? ProcessInfo.processInfo.hostName
        return ClusterSettings(databaseURL: url, nodeName: nodeName)
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
