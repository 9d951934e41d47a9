import Logging
import Server
import ServiceLifecycle

/// The engine in a shutdown: it goes last, once nothing can submit a job
/// any more: it refuses new work, lets running jobs finish and stops its
/// threads.
public struct EngineService: Service {
    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await engine.shutdown()
    }
}

extension CalotypeServer {
    /// What `calotype serve` runs, in start order: the engine first (so that
    /// it stops last), the allocator's trim when idle (`IdleMemoryTrimService`), then, in cluster mode, the database's connection pool
    /// (it outlives every request and hand-back), then the server's services
    /// (`services(...)`), and last the node's share of the cluster's work,
    /// which a shutdown therefore stops first: it stops claiming while the
    /// HTTP server still answers.
    public func services(
        engine: Engine,
        cluster: ClusterNode? = nil,
        logger: Logger = Logger(label: "calotype"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> [any Service] {
        var services: [any Service] = [EngineService(engine: engine), IdleMemoryTrimService(budget: engine.scheduler.memoryBudget)]
        if let cluster { services.append(PostgresClientService(client: cluster.client)) }
        var stoppedFirst: [any Service] = []
        if let cluster {
            let gpuWorkers = engine.gpus.isEmpty ? 0 : engine.configuration.gpuWorkers * engine.gpus.count
            stoppedFirst.append(
                ClusterNodeService(
                    node: cluster,
                    server: self,
                    cpuWorkers: engine.configuration.cpuWorkers,
                    gpuWorkers: gpuWorkers,
                    batchLifetime: configuration.resultLifetime
                )
            )
        }
        services += try await self.services(logger: logger, stoppedFirst: stoppedFirst, onServerRunning: onServerRunning)
        return services
    }
}
