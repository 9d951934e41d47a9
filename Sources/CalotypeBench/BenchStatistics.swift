import Foundation

/// A figure measured once per round, summarised as its median and its range
/// over the rounds: the median resists a round disturbed by other work on
/// the machine, and the range shows how much such disturbance there was.
struct Spread: Codable, Sendable, Hashable {
    var median: Double
    var min: Double
    var max: Double

    /// nil when there is nothing to summarise.
    init?(_ values: [Double]) {
        let sorted = values.filter(\.isFinite).sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        median = Percentiles.median(ofSorted: sorted)
        min = first
        max = last
    }

    init(median: Double, min: Double, max: Double) {
        self.median = median
        self.min = min
        self.max = max
    }

    func scaled(by factor: Double) -> Spread {
        Spread(median: median * factor, min: min * factor, max: max * factor)
    }
}

/// Percentiles of samples, by the nearest-rank rule (a value that was
/// actually observed, never an interpolation between two).
enum Percentiles {
    static func median(ofSorted sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The `p`-th percentile (0...100) of `sorted`.
    static func value(_ p: Double, ofSorted sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// What one mode did in one round: a pass over every image.
struct RoundSample: Sendable {
    /// From the first image submitted to the last result received.
    var seconds: Double
    var succeeded = 0
    var failed = 0
    /// Input megapixels of the images that succeeded.
    var megapixels = 0.0
    /// Per image, from its submission to its result, in seconds.
    var latencies: [Double] = []
    /// From the start of the round to the first result, in seconds.
    var firstResult: Double?
    /// From the start of the round to the first event of any kind (the
    /// streams' `progress`, sent once the server has read and parsed the
    /// upload), in seconds; nil for modes without events.
    var firstEvent: Double?
    /// Jobs per backend (lane name) that produced them.
    var backends: [String: Int] = [:]
    var fallbacks = 0
    /// The first failure's message, for the report.
    var firstError: String?
    /// Filled in by the runner around the round: this process's CPU time
    /// (nil where the work ran in another process) and peak resident memory.
    var cpuSeconds: Double?
    var peakResidentBytes: Int?

    init(seconds: Double = 0) {
        self.seconds = seconds
    }

    mutating func recordSuccess(latency: Double, megapixels: Double, backend: String?, fallback: Bool) {
        succeeded += 1
        latencies.append(latency)
        self.megapixels += megapixels
        if let backend { backends[backend, default: 0] += 1 }
        if fallback { fallbacks += 1 }
    }

    mutating func recordFailure(_ message: String) {
        failed += 1
        if firstError == nil { firstError = message }
    }

    mutating func recordFirstResult(at seconds: Double) {
        if firstResult == nil { firstResult = seconds }
    }
}

extension Duration {
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
