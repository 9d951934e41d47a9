import ArgumentParser
import CalotypeApp
import Foundation
import Logging

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
              CALOTYPE_MAX_ANIMATION_FRAMES         most frames of an animation kept; 1: first frame only (100)
              CALOTYPE_WATERMARK_PATH               the image the watermark operation lays (none)
              CALOTYPE_FAIL_ON                      refuse damaged inputs on: warning, error, truncated, none (warning)
              CALOTYPE_MAX_BODY_BYTES               largest request body (104857600)
              CALOTYPE_MAX_FILES                    most files in one batch (100)
              CALOTYPE_MAX_OPERATIONS               most operations in one recipe (16, at most 64)
              CALOTYPE_MAX_BATCHES                  batches posted to /batches that run at once (16)
              CALOTYPE_API_KEYS_FILE                the API keys requests must carry (unset: the server is open)
              CALOTYPE_CORS_ORIGINS                 origins whose pages may call the API (others' state changes: 403)
              CALOTYPE_ALLOWED_HOSTS                the host names answered (others: 421; unset: any)
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
              CALOTYPE_IMG_NEGOTIATE                formats Accept may choose, in order, or none (avif,jxl,webp)
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
        let serve: Serve
        do {
            serve = try Serve(settings: try await settingsOptions.load(flags: flags))
        } catch {
            throw ValidationError("\(error)")
        }
        var logger = Logger(label: "calotype")
        logger.logLevel = serve.server.logLevel
        do {
            try await serve.run(logger: logger, notes: { FileHandle.standardError.write(Data("\($0)\n".utf8)) }) { host, port in
                // Unbuffered, so whoever started the server sees it at once.
                FileHandle.standardOutput.write(Data("calotype \(Serve.version) listening on http://\(host):\(port)\n".utf8))
            }
        } catch let failure as Serve.Failure {
            // A start that failed is a failure to service managers (exit 1), said on standard error.
            FileHandle.standardError.write(Data("\(failure)\n".utf8))
            throw ExitCode.failure
        }
    }
}
