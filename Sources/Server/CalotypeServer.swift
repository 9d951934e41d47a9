import CalotypeCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Scheduler
import ServiceLifecycle

/// The HTTP face of an engine: the routes of Calotype's API over its scheduler.
public struct CalotypeServer: Sendable {
    public static let version = "0.1.0"

    /// Where every job goes.
    public let scheduler: Scheduler
    public let configuration: ServerConfiguration
    /// Per GPU lane, its start-up self-check, for `/health`.
    let selfChecks: [String: String]
    let results: ResultStore
    /// The batches this process runs (none in cluster mode), drained at shutdown.
    let batches: BatchRegistry
    /// Where every batch endpoint's batches live: the configuration's
    /// (a cluster), or this process (`LocalBatchHost`).
    let batchHost: any BatchHost
    let statistics: EndpointStatistics
    /// The metrics `/metrics` renders.
    let telemetry: Telemetry
    /// The keys requests carry, and each tenant's rate.
    let access: AccessControl
    /// Connections whose clients went away, for the routes that stop their work then.
    let departures = ClientDepartures()
    /// Draining once a shutdown has begun (`GET /ready`).
    let readiness = Readiness()
    let started = ContinuousClock.now

    /// A server in front of a scheduler, whatever its backends (the
    /// composition root's engine, or a test's fakes).
    ///
    /// - Parameters:
    ///   - telemetry: where the metrics are recorded: the registry the
    ///     scheduler records into, so that `/metrics` has its lanes too.
    public init(scheduler: Scheduler, configuration: ServerConfiguration, selfChecks: [String: String] = [:], telemetry: Telemetry = Telemetry()) {
        self.telemetry = telemetry
        self.statistics = EndpointStatistics(telemetry: telemetry)
        self.scheduler = scheduler
        var configuration = configuration
        configuration.boundFetches(budget: scheduler.memoryBudget.limit)
        self.configuration = configuration
        self.selfChecks = selfChecks
        self.access = AccessControl(keys: configuration.apiKeys, metrics: TenantMetrics(factory: telemetry.metrics))
        self.results = ResultStore(
            storage: configuration.resultStorage ?? FolderResultStorage(directory: configuration.resultsDirectory, io: BlockingPools.files),
            lifetime: configuration.resultLifetime,
            maxBytes: configuration.resultsMaxBytes,
            metrics: telemetry.metrics
        )
        self.batches = BatchRegistry(lifetime: configuration.resultLifetime, maxRunning: configuration.maxRunningBatches)
        self.batchHost =
            configuration.batchHost
            ?? LocalBatchHost(
                registry: batches,
                scheduler: scheduler,
                results: results,
                statistics: statistics,
                saveTarget: Self.saveTarget(configuration),
                observer: configuration.batchObserver,
                lifetime: configuration.resultLifetime
            )
    }

    /// The server as services for a `ServiceGroup`, in start order; the
    /// group stops them in reverse, which is the order a shutdown needs:
    /// `GET /ready` turns 503 at once, `stoppedFirst` (a cluster node's
    /// work) stops, the HTTP server stops accepting and lets requests in
    /// flight (open streams included) end, then the batches posted to
    /// `/batches` drain, then the result store finishes its writes.
    /// Whatever runs the jobs (the engine) goes before these, so that it
    /// stops last.
    public func services(
        logger: Logger = Logger(label: "calotype"),
        stoppedFirst: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> [any Service] {
        let application = try await makeApplication(logger: logger, onServerRunning: onServerRunning)
        return [
            ResultStoreService(store: results),
            PostedBatchesService(registry: batches, grace: configuration.shutdownGrace),
            MetricsBoundService(service: application, metrics: telemetry.metrics),
        ] + stoppedFirst + [ReadinessService(readiness: readiness)]
    }

    /// Items in flight at once on the parallel endpoints: `MAX_WORKERS`, or
    /// every worker of every lane, GPU lanes included.
    var parallelism: Int {
        configuration.maxWorkers ?? scheduler.defaultBatchParallelism
    }

    /// The application, ready to run; `onServerRunning` learns the bound port.
    public func makeApplication(
        logger: Logger = Logger(label: "calotype"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        try await results.prepare()
        var logger = logger
        logger.logLevel = configuration.logLevel
        let router = makeRouter()
        let routes = RouteTable(router.routes.map { (path: $0.path.description, method: $0.method) })
        return Application(
            responder: APIResponder(router: router.buildResponder(), routes: routes),
            server: .conformingHTTP1(configuration: httpConfiguration(), maxBodyBytes: configuration.maxBodyBytes),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "calotype/\(Self.version)"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Every route, with the middleware that logs and measures each request;
    /// its routes are what the OpenAPI document must describe (a test
    /// compares them).
    func makeRouter() -> Router<CalotypeRequestContext> {
        let router = Router(context: CalotypeRequestContext.self, options: .autoGenerateHeadEndpoints)
        // One log line per request (with its request id), and the HTTP
        // metrics per route, method and status (hb_requests,
        // http_server_request_duration, ...), beside Calotype's own.
        router.add(middleware: LogRequestsMiddleware(.info))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: CrossSiteMiddleware(policy: configuration.crossSite))
        addHealthRoutes(to: router)
        addProcessRoutes(to: router)
        addBatchRoutes(to: router)
        addBatchResourceRoutes(to: router)
        addInfoRoutes(to: router)
        addImageRoutes(to: router)
        return router
    }

    /// Each connection's limits: its idle time, the time its requests may
    /// take to arrive and the cap on connections (`conformingHTTP1` adds
    /// HTTP/1.1's rules and JSON for requests that are not HTTP).
    private func httpConfiguration() -> HTTP1Channel.Configuration {
        let counter = ConnectionCounter(limit: configuration.maxConnections)
        let readTimeout = TimeAmount(configuration.readTimeout)
        let departures = self.departures
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionLimitHandler(counter: counter),
                RequestReadDeadlineHandler(limit: readTimeout),
                DepartureHandler(departures: departures),
            ],
            idleTimeout: TimeAmount(configuration.idleTimeout)
        )
    }

    /// `value` as JSON, through the request context's encoder.
    static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        for request: Request,
        context: CalotypeRequestContext
    ) throws -> Response {
        var response = try context.responseEncoder.encode(value, from: request, context: context)
        response.status = status
        return response
    }
}
