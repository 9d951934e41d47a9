import CalotypeCore
import Foundation
import Logging
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
    /// The formats the engine writes, as `/health` lists them for the
    /// console (the composition root's, from libvips' encoders at start).
    public var writableFormats: [OutputFormat] = OutputFormat.encoded
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
    /// Instead of `resultsDirectory`, where results are kept (the composition
    /// root's S3 storage for `CALOTYPE_RESULTS_URL=s3://bucket/prefix/`).
    public var resultStorage: (any ResultStorage)?
    /// How long results are kept (`CALOTYPE_RESULT_TTL` seconds, default 900).
    public var resultLifetime: Duration = .seconds(900)
    /// The results folder's size cap (`CALOTYPE_RESULTS_MAX_BYTES`, default 1 GiB); the oldest go first.
    public var resultsMaxBytes = 1 << 30
    /// Where `/process-and-save` writes (`CALOTYPE_SAVE_DIR`, default ./data/saved).
    public var saveDirectory = URL(fileURLWithPath: "data/saved")
    /// Instead of the folder, where each saved result goes: the composition
    /// root's sink for `CALOTYPE_SAVE_URL` (an S3 prefix, or an HTTP
    /// endpoint each result is POSTed to).
    public var saveSink: (any ResultSink)?
    /// Where images by reference are fetched from (`GET /img`, batches of
    /// `sources`): the composition root's fetcher over the allow-list; nil:
    /// nothing is fetched by reference.
    public var sources: (any SourceFetcher)?
    /// Fetches by reference in flight at once, server-wide
    /// (`CALOTYPE_MAX_FETCHES`); nil: one per 16 MiB of the memory budget,
    /// 4 to 64.
    public var maxConcurrentFetches: Int?
    /// Where a batch by reference may write its results (`destination`):
    /// the composition root's allow-listed S3 sinks; nil: nowhere.
    public var destinations: (any ResultDestinations)?
    /// The API keys requests must carry (`CALOTYPE_API_KEYS_FILE`); nil:
    /// the server is open, and anyone who reaches it may do anything.
    public var apiKeys: APIKeys?
    /// Origins whose pages may call the API (`CALOTYPE_CORS_ORIGINS`), and
    /// the host names it answers to (`CALOTYPE_ALLOWED_HOSTS`).
    public var crossSite = CrossSitePolicy()
    /// `GET /img`: signing keys, presets, caching, format negotiation.
    public var imageURLs = ImageURLConfiguration()
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
    /// The least severe log lines written (`CALOTYPE_LOG_LEVEL`: trace,
    /// debug, info, notice, warning, error, critical; default info, which
    /// writes a line per request).
    public var logLevel: Logger.Level = .info
    /// Where `/batches` keeps its batches instead of this process (the
    /// composition root's cluster host, in cluster mode); nil: here.
    public var batchHost: (any BatchHost)?
    /// What `/health`, `/stats` and `GET /cluster` say of the cluster (the
    /// composition root's, in cluster mode); nil: this server is alone.
    public var cluster: (any ClusterView)?
    /// Told when each batch ends (logs, metrics, tests); keep it cheap.
    public var batchObserver: (@Sendable (BatchReport) -> Void)?

    public init() {}
}
