import AsyncHTTPClient
import CalotypeCore
import CalotypeS3
import CalotypeSources
import Foundation
import Logging
import Server

extension ServerConfiguration {
    /// Reads `environment` alone over the defaults (tests); a malformed
    /// value is an error naming it.
    package static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> ServerConfiguration {
        try read(from: Settings(environment: environment))
    }

    /// Reads the server's settings over the defaults; a malformed value is an
    /// error naming it. `resolver` looks up source hosts (tests give a table).
    public static func read(from settings: Settings, resolver: any HostResolver = SystemResolver()) throws(ConfigurationError) -> ServerConfiguration
    {
        var configuration = ServerConfiguration()
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            try settings.integer(name, in: range)
        }
        if let host = settings.string("CALOTYPE_HOST") { configuration.host = host }
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
        if let folder = settings.string("CALOTYPE_RESULTS_DIR") { configuration.resultsDirectory = URL(fileURLWithPath: folder) }
        if let folder = settings.string("CALOTYPE_SAVE_DIR") { configuration.saveDirectory = URL(fileURLWithPath: folder) }
        if let url = settings.string("CALOTYPE_RESULTS_URL") {
            guard let parsed = URL(string: url), parsed.scheme?.lowercased() == "s3", let bucket = parsed.host, !bucket.isEmpty,
                Self.isPlainS3Prefix(url)
            else {
                throw ConfigurationError(
                    variable: "CALOTYPE_RESULTS_URL",
                    value: url,
                    allowed: "s3://bucket/prefix/ (unset: the folder CALOTYPE_RESULTS_DIR)"
                )
            }
            let client = S3Client(configuration: try S3Client.Configuration.read(from: settings, for: "CALOTYPE_RESULTS_URL"), http: .shared)
            configuration.resultStorage = S3ResultStorage(client: client, bucket: bucket, prefix: Self.folderPrefix(parsed.path))
        }
        if let url = settings.string("CALOTYPE_SAVE_URL") {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https", "s3"].contains(scheme) else {
                throw ConfigurationError(variable: "CALOTYPE_SAVE_URL", value: url, allowed: "an http(s):// or s3://bucket/prefix/ URL")
            }
            if scheme == "s3" {
                guard let bucket = parsed.host, !bucket.isEmpty, Self.isPlainS3Prefix(url) else {
                    throw ConfigurationError(variable: "CALOTYPE_SAVE_URL", value: url, allowed: "s3://bucket/prefix/ (a bucket is needed)")
                }
                let prefix = Self.folderPrefix(parsed.path)
                let client = S3Client(configuration: try S3Client.Configuration.read(from: settings, for: "CALOTYPE_SAVE_URL"), http: .shared)
                configuration.saveSink = S3ResultSink(client: client, bucket: bucket, prefix: prefix)
            } else {
                configuration.saveSink = HTTPResultSink(url: parsed)
            }
        }
        try configuration.readReferences(from: settings, resolver: resolver)
        try configuration.readAccess(from: settings)
        if let parallel = try settings.flag("ENABLE_PARALLEL") { configuration.parallelEnabled = parallel }
        if let level = settings.string("CALOTYPE_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    variable: "CALOTYPE_LOG_LEVEL",
                    value: level,
                    allowed: "one of " + Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            configuration.logLevel = parsed
        }
        return configuration
    }

    /// Whether an `s3://bucket/prefix/` is one the S3 client will write
    /// under: read as a source is (no dot or empty segments, no query or
    /// control characters), so that a `results//` typed in a setting is
    /// refused when the server starts, not on every write.
    static func isPlainS3Prefix(_ url: String) -> Bool {
        guard case .s3? = try? SourceReference(url) else { return false }
        return true
    }

    /// An S3 URL's path as a key prefix: no leading `/`, a trailing one unless empty.
    static func folderPrefix(_ path: String) -> String {
        let prefix = String(path.drop { $0 == "/" })
        return prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
    }
}
