import ArgumentParser
import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import Hummingbird
import Logging
import Scheduler
import Server
import ServiceLifecycle

/// `calotype serve`: the HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (single images, batches, streamed batches).",
        discussion: """
            Flags win over environment variables, which win over a .env file, which wins over a
            --config JSON file, which wins over files in CALOTYPE_SECRETS_DIR (/run/secrets, one per
            setting, named as it), which win over the defaults (env.example lists every setting):
              CALOTYPE_HOST, CALOTYPE_PORT          where to listen (127.0.0.1:8080)
              CALOTYPE_CPU_WORKERS                  jobs the CPU runs at once (cores clamped to 2...4)
              CALOTYPE_GPU_WORKERS                  jobs each GPU runs at once (1)
              CALOTYPE_QUEUE_LIMIT                  jobs that may wait before 503 (256)
              CALOTYPE_JOB_TIMEOUT                  seconds a job may take, queue included (10)
              CALOTYPE_MAX_MEGAPIXELS               largest image accepted or made (50)
              CALOTYPE_MEMORY_BUDGET_MB             bytes admitted work may hold; more wait 1 s, then 503 (160 per worker)
              CALOTYPE_MAX_JPEG_SCANS               most scans in a JPEG (128)
              CALOTYPE_FAIL_ON                      refuse damaged inputs on: warning, error, truncated, none (warning)
              CALOTYPE_MAX_BODY_BYTES               largest request body (104857600)
              CALOTYPE_MAX_FILES                    most files in one batch (100)
              CALOTYPE_MAX_OPERATIONS               most operations in one recipe (16, at most 64)
              CALOTYPE_MAX_BATCHES                  batches posted to /batches that run at once (16)
              CALOTYPE_MAX_CONNECTIONS              connections open at once; more get 503 (512)
              CALOTYPE_IDLE_TIMEOUT                 seconds a connection may send nothing (30)
              CALOTYPE_READ_TIMEOUT                 seconds a request may take to arrive, body included (60)
              ENABLE_PARALLEL                       /process-batch-fast and /batches run items in parallel (true)
              MAX_WORKERS                           items in flight on /process-batch-fast (every lane's workers)
              CALOTYPE_RESULTS_DIR, CALOTYPE_RESULT_TTL, CALOTYPE_RESULTS_MAX_BYTES
                                                    where batch results are kept, how long (900 s), how much (1 GiB)
              CALOTYPE_RESULTS_URL                  or keep them in S3: s3://bucket/prefix/ (with AWS_*), shared by nodes
              CALOTYPE_SAVE_DIR                     where /process-and-save writes (./data/saved)
              CALOTYPE_SAVE_URL                     or an http(s):// receiver, or s3://bucket/prefix/ (with AWS_*)
              CALOTYPE_ALLOWED_SOURCES              prefixes GET /img and batches may fetch (none)
              CALOTYPE_ALLOW_LOOPBACK_SOURCES, CALOTYPE_ALLOW_PRIVATE_SOURCES
                                                    fetch from loopback / private and link-local addresses (false)
              CALOTYPE_SOURCE_TIMEOUT, CALOTYPE_SOURCE_CONNECT_TIMEOUT, CALOTYPE_SOURCE_IDLE_TIMEOUT
                                                    seconds for a whole fetch, body included (10), to connect (3),
                                                    of silence between two reads (5)
              CALOTYPE_MAX_FETCHES                  fetches in flight at once (one per 16 MiB of the memory budget, 4-64)
              CALOTYPE_LOCAL_SOURCES_ROOT           the folder local:///path sources are read under
              CALOTYPE_ALLOWED_DESTINATIONS         s3://bucket/prefix/ folders batches by reference may write to (none)
              CALOTYPE_SIGNING_KEY, CALOTYPE_SIGNING_SALT
                                                    hex key and salt pairs of GET /img signatures (imgproxy's)
              CALOTYPE_ALLOW_UNSIGNED               serve unsigned /img paths (false)
              CALOTYPE_PRESETS                      named /img options: name=rs:fill:300:300/q:80,...
              CALOTYPE_IMG_MAX_AGE                  Cache-Control max-age of /img answers (3600)
              CALOTYPE_IMG_NEGOTIATE                formats Accept may choose, in order, or none (avif,webp)
              AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                                                    the S3 service of s3:// sources and sinks
              CALOTYPE_SHUTDOWN_GRACE               seconds SIGTERM waits for requests in flight (30)
              CALOTYPE_LOG_LEVEL                    least severe log lines written (info: one per request)
            """
    )

    @Option(help: "Address to listen on.")
    var host: String?

    @Option(help: "Port to listen on (0 picks a free one).")
    var port: Int?

    @Option(help: "Jobs the CPU runs at once.")
    var workers: Int?

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    func run() async throws {
        // Logs go to standard error, as structured lines (`request_id=...`);
        // standard output says where the server listens.
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var flags: [String: String] = [:]
        flags["CALOTYPE_HOST"] = host
        flags["CALOTYPE_PORT"] = port.map(String.init)
        flags["CALOTYPE_CPU_WORKERS"] = workers.map(String.init)
        let settings: Settings
        var server: ServerConfiguration
        let engineConfiguration: Engine.Configuration
        let clusterSettings: ClusterSettings?
        do {
            settings = try await SettingsFiles(envFile: settingsOptions.envFile, configFile: settingsOptions.config).load(flags: flags)
            server = try ServerConfiguration.read(from: settings)
            engineConfiguration = try Engine.Configuration.read(from: settings)
            clusterSettings = try ClusterSettings.read(from: settings)
            AllocatorSetUp.apply(settings: settings)
            try settings.checkConfigFileNames()
        } catch {
            throw ValidationError("\(error)")
        }
        // Half the descriptors for connections leaves the rest for result
        // files, the GPU driver and libvips.
        let descriptors = FileDescriptorLimit.raise()
        if server.maxConnections > descriptors / 2 {
            server.maxConnections = max(1, descriptors / 2)
            FileHandle.standardError.write(
                Data("note: at most \(server.maxConnections) connections (half of the \(descriptors) open files this process may have)\n".utf8)
            )
        }

        var logger = Logger(label: "calotype")
        logger.logLevel = server.logLevel
        // Cluster mode: the schema is applied (or found current) before the
        // node takes any request.
        if let clusterSettings {
            do {
                _ = try await clusterSettings.migrate(logger: logger)
            } catch {
                throw CleanExit.message(
                    "error: joining the cluster at \(clusterSettings.redactedDatabaseURL) failed: \(ClusterSettings.describe(error))"
                )
            }
        }

        let engine: Engine
        do {
            engine = try await Engine.start(engineConfiguration)
        } catch {
            throw CleanExit.message("error: \(error)")
        }
        if engine.cpu.idleThreadExitFix == .missing {
            FileHandle.standardError.write(Data("warning: libvips idle-thread exit fix: \(engine.cpu.idleThreadExitFix)\n".utf8))
        }
        for problem in engine.gpuProblems {
            FileHandle.standardError.write(Data("warning: GPU left out: \(problem)\n".utf8))
        }
        await engine.calibrate()
        let host = server.host
        var cluster: ClusterNode?
        // Before the node takes the sources: its items share the fetch slots.
        server.boundFetches(budget: engine.scheduler.memoryBudget.limit)
        if let clusterSettings {
            do {
                cluster = try ClusterNode.join(clusterSettings, configuration: &server, metrics: engine.telemetry.metrics, logger: logger)
            } catch {
                throw CleanExit.message("error: joining the cluster failed: \(ClusterSettings.describe(error))")
            }
        }
        let calotype = CalotypeServer(engine: engine, configuration: server)
        let services = try await calotype.services(engine: engine, cluster: cluster, logger: logger) { port in
            // Unbuffered, so whoever started the server sees it at once.
            FileHandle.standardOutput.write(Data("calotype \(CalotypeServer.version) listening on http://\(host):\(port)\n".utf8))
        }
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
}
