import Backends
import Foundation
import Hummingbird
import Logging
import NIOPosix
import Scheduler

/// The HTTP face of an engine: the routes of Calotype's API over its scheduler.
public struct CalotypeServer: Sendable {
    public static let version = "0.1.0"

    public let engine: Engine
    public let configuration: ServerConfiguration
    let results: ResultStore
    let statistics = EndpointStatistics()
    let started = ContinuousClock.now

    public init(engine: Engine, configuration: ServerConfiguration) {
        self.engine = engine
        self.configuration = configuration
        self.results = ResultStore(
            directory: configuration.resultsDirectory, lifetime: configuration.resultLifetime,
            maxBytes: configuration.resultsMaxBytes)
    }

    /// Items in flight at once on the parallel endpoints.
    var parallelism: Int {
        configuration.maxWorkers ?? max(1, engine.configuration.cpuWorkers)
    }

    /// The application, ready to run; `onServerRunning` learns the bound port.
    public func makeApplication(
        logger: Logger = Logger(label: "calotype"), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        try await results.prepare()
        let router = Router()
        addHealthRoutes(to: router)
        addProcessRoutes(to: router)
        addBatchRoutes(to: router)
        addMetricsRoute(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "calotype/\(Self.version)"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// JSON with sorted keys, as every endpoint answers.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
