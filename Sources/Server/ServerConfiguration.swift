import Backends
import Foundation
import Scheduler

/// What `calotype serve` is configured with: flags over environment
/// variables over defaults.
public struct ServerConfiguration: Sendable {
    /// `CALOTYPE_HOST`, default 127.0.0.1.
    public var host = "127.0.0.1"
    /// `CALOTYPE_PORT`, default 8080 (0 picks a free port).
    public var port = 8080
    /// Largest request body (`CALOTYPE_MAX_BODY_BYTES`, default 100 MiB), refused while it arrives.
    public var maxBodyBytes = 100 << 20
    /// Largest encoded image the engine accepts (its `ImageLimits.maxBytes`,
    /// 64 MiB), which caps the body of a single-image request too: a 95 MiB
    /// upload to `/process` was read in full only to be refused. nil: no cap
    /// beyond `maxBodyBytes`.
    public var maxImageBytes: Int?
    /// Most files in one batch (`CALOTYPE_MAX_FILES`, default 100).
    public var maxFilesPerBatch = 100
    /// Parts a multipart body may have: the files, the recipe, and a few
    /// fields a form may add (`extraParts`).
    public var maxParts: Int { maxFilesPerBatch + Self.extraParts }
    public static let extraParts = 16
    /// Operations one recipe may have (`CALOTYPE_MAX_OPERATIONS`, default 16,
    /// at most `Recipe.operationsCeiling`); longer recipes are refused before
    /// any image is read.
    public var maxOperations = Recipe.defaultMaxOperations
    /// Batches posted to `/batches` that may run at once (`CALOTYPE_MAX_BATCHES`,
    /// default 16); each holds its uploaded images in memory until it ends.
    public var maxRunningBatches = 16
    /// Whether `/process-batch-fast` runs items in parallel (`ENABLE_PARALLEL`, default true).
    public var parallelEnabled = true
    /// Items in flight at once on `/process-batch-fast` (`MAX_WORKERS`, default: every lane's workers).
    public var maxWorkers: Int?
    /// Where batch results are kept for `GET /results/{id}` (`CALOTYPE_RESULTS_DIR`).
    public var resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-results")
    /// How long results are kept (`CALOTYPE_RESULT_TTL` seconds, default 900).
    public var resultLifetime: Duration = .seconds(900)
    /// The results folder's size cap (`CALOTYPE_RESULTS_MAX_BYTES`, default 1 GiB); the oldest go first.
    public var resultsMaxBytes = 1 << 30
    /// Where `/process-and-save` writes (`CALOTYPE_SAVE_DIR`, default ./data/saved).
    public var saveDirectory = URL(fileURLWithPath: "data/saved")
    /// Instead of a folder, POST each saved result here (`CALOTYPE_SAVE_URL`),
    /// retrying with backoff.
    public var saveURL: URL?
    /// How long a connection may stay open sending nothing: before its first
    /// request head arrives, and between requests on a kept-alive connection
    /// (`CALOTYPE_IDLE_TIMEOUT` seconds, default 30).
    public var idleTimeout: Duration = .seconds(30)
    /// How long a request may take to arrive, head and body, whatever its
    /// pace (`CALOTYPE_READ_TIMEOUT` seconds, default 60: a full 100 MiB
    /// body at 14 Mbit/s).
    public var readTimeout: Duration = .seconds(60)
    /// Connections open at once (`CALOTYPE_MAX_CONNECTIONS`, default 512, and
    /// at most half the process's file descriptor limit); one more is
    /// answered 503 `too_many_connections` and closed.
    public var maxConnections = 512
    /// Seconds between keep-alive comments on idle event streams.
    public var keepAliveInterval: Duration = .seconds(15)
    /// How long SIGTERM waits for requests in flight (open streams included)
    /// before cancelling them (`CALOTYPE_SHUTDOWN_GRACE` seconds, default 30).
    public var shutdownGrace: Duration = .seconds(30)
    /// Told when each batch ends (logs, metrics, tests); keep it cheap.
    public var batchObserver: (@Sendable (BatchReport) -> Void)?

    public init() {}

    /// Reads the environment over the defaults; a malformed value is an error naming it.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        let variables = EnvironmentReader(environment)
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            try variables.integer(name, in: range)
        }
        if let host = variables.string("CALOTYPE_HOST") { configuration.host = host }
        if let port = try integer("CALOTYPE_PORT", 0...65535) { configuration.port = port }
        if let bytes = try integer("CALOTYPE_MAX_BODY_BYTES", 1024...(1 << 40)) { configuration.maxBodyBytes = bytes }
        if let files = try integer("CALOTYPE_MAX_FILES", 1...100_000) { configuration.maxFilesPerBatch = files }
        if let operations = try integer("CALOTYPE_MAX_OPERATIONS", 1...Recipe.operationsCeiling) { configuration.maxOperations = operations }
        if let batches = try integer("CALOTYPE_MAX_BATCHES", 1...10_000) { configuration.maxRunningBatches = batches }
        if let workers = try integer("MAX_WORKERS", 1...1024) { configuration.maxWorkers = workers }
        if let seconds = try integer("CALOTYPE_RESULT_TTL", 1...604_800) { configuration.resultLifetime = .seconds(seconds) }
        if let bytes = try integer("CALOTYPE_RESULTS_MAX_BYTES", 1 << 20...(1 << 50)) { configuration.resultsMaxBytes = bytes }
        if let seconds = try integer("CALOTYPE_SHUTDOWN_GRACE", 0...3600) { configuration.shutdownGrace = .seconds(seconds) }
        if let seconds = try integer("CALOTYPE_IDLE_TIMEOUT", 1...3600) { configuration.idleTimeout = .seconds(seconds) }
        if let seconds = try integer("CALOTYPE_READ_TIMEOUT", 1...3600) { configuration.readTimeout = .seconds(seconds) }
        if let connections = try integer("CALOTYPE_MAX_CONNECTIONS", 1...1_000_000) { configuration.maxConnections = connections }
        if let folder = variables.string("CALOTYPE_RESULTS_DIR") { configuration.resultsDirectory = URL(fileURLWithPath: folder) }
        if let folder = variables.string("CALOTYPE_SAVE_DIR") { configuration.saveDirectory = URL(fileURLWithPath: folder) }
        if let url = variables.string("CALOTYPE_SAVE_URL") {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? "") else {
                throw ConfigurationError(variable: "CALOTYPE_SAVE_URL", value: url, allowed: "an http or https URL")
            }
            configuration.saveURL = parsed
        }
        if let parallel = try variables.flag("ENABLE_PARALLEL") { configuration.parallelEnabled = parallel }
        return configuration
    }
}
