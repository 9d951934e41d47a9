import CalotypeApp
import Foundation

/// Runs every mode once per round, interleaved (round 1: every mode, round 2:
/// every mode, ...), so that a slow spell of the machine touches every mode
/// alike instead of one; the first round warms up (caches, allocators, the
/// scheduler's cost model, the server's connections) and is not counted.
struct BenchSession {
    let runners: [ModeRunner]
    let rounds: Int
    let imagesPerRound: Int
    let showProgress: Bool

    /// The counted rounds of each mode, in the order of `runners`.
    func run() async throws -> [(mode: BenchMode, samples: [RoundSample])] {
        var samples = Array(repeating: [RoundSample](), count: runners.count)
        let progress = ProgressReporter(total: (rounds + 1) * runners.count * imagesPerRound, enabled: showProgress)
        defer { progress.finish() }
        for round in 0...rounds {
            for (index, runner) in runners.enumerated() {
                ResourceUsage.resetPeakResident()
                let cpuBefore = ResourceUsage.cpuSeconds()
                var sample = try await runner.round { failure in progress.record(failure: failure) }
                if runner.mode.kind != .http {
                    sample.cpuSeconds = ResourceUsage.cpuSeconds() - cpuBefore
                    sample.peakResidentBytes = ResourceUsage.peakResidentBytes()
                }
                guard sample.succeeded > 0 else {
                    throw BenchError.everyImageFailed(mode: runner.mode.label, firstError: sample.firstError ?? "no result")
                }
                if round > 0 { samples[index].append(sample) }
            }
        }
        return zip(runners, samples).map { ($0.mode, $1) }
    }
}
