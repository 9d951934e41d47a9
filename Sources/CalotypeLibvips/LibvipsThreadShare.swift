import CalotypeCore
import Synchronization

/// How many threads libvips computes one job's pixels on: the cores, shared
/// among the jobs running when it starts.
///
/// With as many jobs as cores, one thread each keeps every core busy at the
/// least cost. A job that starts while the other workers are idle would leave
/// cores unused with one thread, so it takes them: on 2 cores, photos one at
/// a time went from 50 to 66 thumbnails/s (800 px, 2-4 MP JPEGs), and 2 jobs
/// of 2 threads each lost nothing against 2 jobs of 1 (87 against 86/s), so a
/// job keeping its share after others start costs little. libvips fixes a
/// pipeline's threads when it starts computing, so the share is decided then.
package final class LibvipsThreadShare: Sendable {
    /// The cores to share.
    package let cores: Int
    /// Threads a job gets however busy the backend is.
    package let minimum: Int
    /// Whether a job may take idle cores; false gives every job `minimum`.
    package let adaptive: Bool
    private let running = Atomic<Int>(0)

    package init(cores: Int, minimum: Int, adaptive: Bool) {
        self.cores = max(cores, 1)
        self.minimum = max(minimum, 1)
        self.adaptive = adaptive
    }

    /// Counts a job in and returns its threads; pair with `end()`.
    package func begin() -> Int {
        let jobs = running.add(1, ordering: .relaxed).newValue
        return threads(whileRunning: jobs)
    }

    package func end() {
        running.subtract(1, ordering: .relaxed)
    }

    /// Threads for a job starting while `jobs` (itself included) run.
    package func threads(whileRunning jobs: Int) -> Int {
        adaptive ? max(minimum, cores / max(jobs, 1)) : minimum
    }
}
