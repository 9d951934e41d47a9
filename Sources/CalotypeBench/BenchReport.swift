import Foundation

/// What `calotype bench` found, as `--json` writes it (schema
/// `calotype-bench/1`, documented in docs/BENCHMARKING.md). Keys are written
/// in snake case; fields are only ever added within a schema version.
package struct BenchReport: Codable, Sendable {
    static let schemaVersion = "calotype-bench/1"

    struct Host: Codable, Sendable {
        var cores: Int
        /// 1, 5 and 15 minute load averages when the run started.
        var loadAverage: [Double]
        var os: String
    }

    struct Inputs: Codable, Sendable {
        /// `folder` or `generated`.
        var source: String
        var path: String?
        var images: Int
        var megapixels: Double
        var bytes: Int
        /// Files of the folder left out because they are not images.
        var skipped: [String]
    }

    struct Latency: Codable, Sendable {
        var p50: Spread
        var p95: Spread
        var p99: Spread
    }

    struct Mode: Codable, Sendable {
        var id: String
        var label: String
        /// `calotype`, `libvips` (the raw baseline) or `http`.
        var kind: String
        /// `sequential`, `parallel`, `sweep`, `batch`, `stream`, `fast` or `process`.
        var role: String
        var backend: String?
        var endpoint: String?
        var workers: Int?
        var inFlight: Int?
        var clients: Int?
        var imagesPerRound: Int
        var rounds: Int
        /// Images that failed, over all counted rounds.
        var failures: Int
        var seconds: Spread
        var imagesPerSecond: Spread
        var megapixelsPerSecond: Spread
        var latencyMs: Latency
        var timeToFirstResultMs: Spread
        /// The streams only: time to the first event of any kind, which the
        /// server sends once it has received and parsed the whole upload.
        var timeToFirstEventMs: Spread?
        /// Median images/s over the median of the same kind's sequential mode.
        var speedupOverSequential: Double?
        /// Jobs per backend (lane) over all counted rounds, and their shares.
        var jobsPerBackend: [String: Int]
        var backendShare: [String: Double]
        var fallbacks: Int
        /// CPU seconds (user + system) over wall seconds: 2.0 is two cores
        /// busy. Null for HTTP modes (the work is in the server's process).
        var cpuUtilisation: Spread?
        /// The largest resident-memory high-water mark of this process over
        /// the mode's rounds, reset before each. Null for HTTP modes.
        var peakMemoryBytes: Int?
        /// Latency percentiles 0, 1, ..., 100 over every image of every counted round.
        var latencyPercentilesMs: [Double]
    }

    var schema = BenchReport.schemaVersion
    var calotypeVersion: String
    var libvipsVersion: String?
    var startedAt: String
    var host: Host
    /// `in-process`, or the server's URL.
    var target: String
    /// The recipe, in the shorthand (or JSON when the shorthand cannot say it).
    var recipe: String
    var backends: [String]
    var inputs: Inputs
    var rounds: Int
    var warmupRounds: Int
    var modes: [Mode]
    /// Ratios between modes; see docs/BENCHMARKING.md for each key.
    var comparisons: [String: Double]
    var notes: [String]

    func mode(_ id: String) -> Mode? { modes.first { $0.id == id } }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

extension BenchReport.Mode {
    /// Summarises the counted rounds of `mode`.
    init?(_ mode: BenchMode, samples: [RoundSample], imagesPerRound: Int) {
        guard !samples.isEmpty else { return nil }
        func spread(_ values: [Double]) -> Spread { Spread(values) ?? Spread(median: .nan, min: .nan, max: .nan) }
        let latencies = samples.map { $0.latencies.sorted() }
        func latency(_ p: Double) -> Spread { spread(latencies.filter { !$0.isEmpty }.map { Percentiles.value(p, ofSorted: $0) * 1000 }) }
        var jobs: [String: Int] = [:]
        for sample in samples { jobs.merge(sample.backends, uniquingKeysWith: +) }
        let total = jobs.values.reduce(0, +)
        let pooled = samples.flatMap(\.latencies).sorted()
        let cpu = samples.compactMap { sample in sample.cpuSeconds.map { $0 / max(sample.seconds, 1e-9) } }
        self.init(
            id: mode.id,
            label: mode.label,
            kind: mode.kind.rawValue,
            role: mode.role.rawValue,
            backend: mode.backend?.rawValue,
            endpoint: mode.endpoint,
            workers: mode.workers,
            inFlight: mode.inFlight,
            clients: mode.clients,
            imagesPerRound: imagesPerRound,
            rounds: samples.count,
            failures: samples.reduce(0) { $0 + $1.failed },
            seconds: spread(samples.map(\.seconds)),
            imagesPerSecond: spread(samples.map { Double($0.succeeded) / max($0.seconds, 1e-9) }),
            megapixelsPerSecond: spread(samples.map { $0.megapixels / max($0.seconds, 1e-9) }),
            latencyMs: .init(p50: latency(50), p95: latency(95), p99: latency(99)),
            timeToFirstResultMs: spread(samples.compactMap { $0.firstResult.map { $0 * 1000 } }),
            timeToFirstEventMs: Spread(samples.compactMap { $0.firstEvent.map { $0 * 1000 } }),
            speedupOverSequential: nil,
            jobsPerBackend: jobs,
            backendShare: jobs.mapValues { total > 0 ? Double($0) / Double(total) : 0 },
            fallbacks: samples.reduce(0) { $0 + $1.fallbacks },
            cpuUtilisation: cpu.isEmpty ? nil : spread(cpu),
            peakMemoryBytes: samples.compactMap(\.peakResidentBytes).max(),
            latencyPercentilesMs: pooled.isEmpty
                ? []
                : (0...100).map { p in
                    (p == 0 ? pooled[0] : Percentiles.value(Double(p), ofSorted: pooled)) * 1000
                }
        )
    }
}

extension BenchReport {
    /// Fills in each mode's speedup over its kind's sequential mode and the
    /// headline ratios.
    mutating func compare() {
        for index in modes.indices {
            let mode = modes[index]
            let sequentialID: String
            switch mode.kind {
            case "calotype": sequentialID = "calotype.sequential.\(mode.backend ?? "auto")"
            case "libvips": sequentialID = "libvips.sequential"
            default: sequentialID = "http.process.1"
            }
            if let sequential = self.mode(sequentialID), sequential.imagesPerSecond.median > 0 {
                modes[index].speedupOverSequential = mode.imagesPerSecond.median / sequential.imagesPerSecond.median
            }
        }
        func ratio(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b, b > 0, a.isFinite else { return nil }
            return a / b
        }
        var comparisons: [String: Double] = [:]
        let backend = backends.first ?? "auto"
        let parallel = mode("calotype.parallel.\(backend)")
        let sequential = mode("calotype.sequential.\(backend)")
        comparisons["parallel_over_raw_libvips"] = ratio(parallel?.imagesPerSecond.median, mode("libvips.parallel")?.imagesPerSecond.median)
        comparisons["sequential_over_raw_libvips"] = ratio(sequential?.imagesPerSecond.median, mode("libvips.sequential")?.imagesPerSecond.median)
        comparisons["parallel_speedup"] = ratio(parallel?.imagesPerSecond.median, sequential?.imagesPerSecond.median)
        comparisons["raw_libvips_speedup"] = ratio(
            mode("libvips.parallel")?.imagesPerSecond.median,
            mode("libvips.sequential")?.imagesPerSecond.median
        )
        let single = mode("http.process.1")?.latencyMs.p50.median
        comparisons["stream_ttfr_over_single_latency"] = ratio(mode("http.process-batch-stream")?.timeToFirstResultMs.median, single)
        comparisons["fast_ttfr_over_single_latency"] = ratio(mode("http.process-batch-fast")?.timeToFirstResultMs.median, single)
        // The sequential stream starts with the batch's first image, which is the
        // first result of `/process` one image at a time: the same image, so image
        // size does not enter the ratio. (The parallel stream starts with the
        // smallest image instead, `BatchOrder`: it has no such counterpart.)
        let firstAlone = mode("http.process.1")?.timeToFirstResultMs.median
        comparisons["stream_ttfr_over_first_image_alone"] = ratio(mode("http.process-batch-stream")?.timeToFirstResultMs.median, firstAlone)
        comparisons["fast_speedup_over_single_client"] = ratio(
            mode("http.process-batch-fast")?.imagesPerSecond.median,
            mode("http.process.1")?.imagesPerSecond.median
        )
        comparisons["fast_over_in_process_parallel"] = ratio(
            mode("http.process-batch-fast")?.imagesPerSecond.median,
            parallel?.imagesPerSecond.median
        )
        comparisons["fast_over_batch"] = ratio(
            mode("http.process-batch-fast")?.imagesPerSecond.median,
            mode("http.process-batch")?.imagesPerSecond.median
        )
        self.comparisons = comparisons
    }
}
