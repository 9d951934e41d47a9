import Foundation
import PostgresNIO

/// `CALOTYPE_DATABASE_URL` read into postgres-nio's configuration:
/// `postgres://user:password@host:port/database?sslmode=disable|prefer|require`
/// (libpq's spelling; `prefer`, the default, uses TLS when the server offers it).
public enum ClusterDatabase {
    public static func configuration(url text: String) throws(ClusterError) -> PostgresClient.Configuration {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme) else {
            throw .invalidDatabaseURL("not a postgres:// URL")
        }
        guard let host = url.host, !host.isEmpty else { throw .invalidDatabaseURL("no host") }
        guard let user = url.user, !user.isEmpty else { throw .invalidDatabaseURL("no user") }
        let database = String(url.path.drop { $0 == "/" })
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw .invalidDatabaseURL("sslmode must be disable, prefer or require, not '\(mode)'")
        }
        var configuration = PostgresClient.Configuration(
            host: host,
            port: url.port ?? 5432,
            username: user,
            password: url.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
        configuration.options.additionalStartupParameters = startupParameters
        return configuration
    }

    /// Settings every connection of a node starts with. Generic plans from
    /// the first execution: PostgreSQL plans a prepared statement afresh
    /// for its first five executions on each connection, and the queue's
    /// statements (several CTEs each) cost more to plan than to run; with
    /// hundreds of connections that is a fifth of the database's CPU
    /// (128 simulated nodes: 442 items/s and 43.4 s of PostgreSQL's CPU,
    /// against 545 and 34.7 s with this). Every statement here looks rows
    /// up by key or reads an index in order, which a generic plan does as
    /// well. PgBouncer refuses startup parameters it does not know: behind
    /// it, list this one in `ignore_startup_parameters` and set it on the
    /// role instead (`ALTER ROLE calotype SET plan_cache_mode = force_generic_plan`).
    public static let startupParameters = [("plan_cache_mode", "force_generic_plan")]
}
