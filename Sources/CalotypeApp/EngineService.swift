import Logging
import ServiceLifecycle
import Server

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
    /// it stops last), then the server's services (`services(...)`).
    public func services(
        engine: Engine, logger: Logger = Logger(label: "calotype"), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> [any Service] {
        [EngineService(engine: engine)] + (try await services(logger: logger, onServerRunning: onServerRunning))
    }
}
