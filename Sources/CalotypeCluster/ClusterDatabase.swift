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
        return PostgresClient.Configuration(
            host: host,
            port: url.port ?? 5432,
            username: user,
            password: url.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
    }
}
