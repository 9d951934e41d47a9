import CalotypeCore
import Foundation
import Logging
import Server
import ServiceLifecycle

/// `calotype serve`, composed: the settings read and checked, the
/// connection cap fitted to the open-file limit, the cluster's schema, the
/// engine started and calibrated, the cluster joined, and the server's
/// services run in one `ServiceGroup` until SIGTERM or SIGINT. The command
/// line only parses its flags and calls this, so that the whole start can
/// be run (and tested) in process.
public struct Serve: Sendable {
    /// Why `serve` stopped before it could serve: each message names what
    /// to fix.
    public enum Failure: Error, CustomStringConvertible {
        /// A setting is missing or unusable (a usage error: exit 64).
        case settings(ConfigurationError)
        /// The cluster's database or schema, the engine: the start failed (exit 1).
        case start(String)

        public var description: String {
            switch self {
            case .settings(let error): "\(error)"
            case .start(let message): message
            }
        }
    }

    /// The version `serve` announces (the server's).
    public static var version: String { CalotypeServer.version }

    public var server: ServerConfiguration
    public let engine: Engine.Configuration
    public let cluster: ClusterSettings?
    /// Written to standard error before serving (the connection cap lowered, a GPU left out).
    public private(set) var notes: [String] = []

    /// Reads every setting `serve` uses, and refuses names in a config file that none has.
    public init(settings: Settings) throws(Failure) {
        do {
            server = try ServerConfiguration.read(from: settings)
            engine = try Engine.Configuration.read(from: settings)
            cluster = try ClusterSettings.read(from: settings)
            AllocatorSetUp.apply(settings: settings)
            try settings.checkConfigFileNames()
        } catch {
            throw .settings(error)
        }
        // Half the descriptors for connections leaves the rest for result
        // files, the GPU driver and libvips.
        let descriptors = FileDescriptorLimit.raise()
        if server.maxConnections > descriptors / 2 {
            server.maxConnections = max(1, descriptors / 2)
            notes.append("note: at most \(server.maxConnections) connections (half of the \(descriptors) open files this process may have)")
        }
        if let keys = server.apiKeys {
            notes.append(
                "note: requests need an API key (\(keys.tenantNames.count) \(keys.tenantNames.count == 1 ? "tenant" : "tenants"): \(keys.tenantNames.prefix(8).joined(separator: ", "))\(keys.tenantNames.count > 8 ? ", ..." : ""))"
            )
        } else {
            notes.append(
                "note: the server is open: no API keys (CALOTYPE_API_KEYS_FILE), so anyone who reaches its port on \(server.host) may use every endpoint; the README's Trust model says when to turn keys on"
            )
        }
    }

    /// Starts everything and serves until a shutdown signal; `onListening`
    /// learns the address once the port is bound.
    public func run(
        logger: Logger,
        notes report: @escaping @Sendable (String) -> Void = { _ in },
        onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws {
        let services = try await services(logger: logger, notes: report, onListening: onListening)
        // SIGTERM and SIGINT stop the services in reverse order: the HTTP
        // server stops accepting and lets requests in flight (streams run to
        // their `complete`) end, posted batches drain, result writes finish,
        // the engine stops; whatever is still running when the grace period
        // is over is cancelled.
        var group = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        group.maximumGracefulShutdownDuration = server.shutdownGrace
        try await ServiceGroup(configuration: group).run()
    }

    /// Everything `run` runs, in start order, started as far as a service
    /// group needs: for a caller (a test) that runs the group itself.
    public func services(
        logger: Logger,
        notes report: @escaping @Sendable (String) -> Void = { _ in },
        onListening: @escaping @Sendable (_ host: String, _ port: Int) -> Void
    ) async throws -> [any Service] {
        for note in notes { report(note) }
        var server = self.server
        // Cluster mode: the schema is applied (or found current) before the
        // node takes any request.
        if let cluster {
            do {
                _ = try await cluster.migrate(logger: logger)
            } catch {
                throw Failure.start("error: joining the cluster at \(cluster.redactedDatabaseURL) failed: \(ClusterSettings.describe(error))")
            }
        }
        let engine: Engine
        do {
            engine = try await Engine.start(self.engine)
        } catch {
            throw Failure.start("error: \(error)")
        }
        if engine.cpu.idleThreadExitFix == .missing {
            report("warning: libvips idle-thread exit fix: \(engine.cpu.idleThreadExitFix)")
        }
        for problem in engine.gpuProblems {
            report("warning: GPU left out: \(problem)")
        }
        await engine.calibrate()
        var node: ClusterNode?
        // Before the node takes the sources: its items share the fetch slots.
        server.boundFetches(budget: engine.scheduler.memoryBudget.limit)
        if let cluster {
            do {
                node = try ClusterNode.join(cluster, configuration: &server, metrics: engine.telemetry.metrics, logger: logger)
            } catch {
                throw Failure.start("error: joining the cluster failed: \(ClusterSettings.describe(error))")
            }
        }
        let host = server.host
        let calotype = CalotypeServer(engine: engine, configuration: server)
        return try await calotype.services(engine: engine, cluster: node, logger: logger) { port in onListening(host, port) }
    }
}
