import Backends
import Foundation
import NIOPosix

/// The engine as a process runs it: its backends, the threads they block on,
/// and the scheduler in front of them, configured from the environment.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        /// Jobs the CPU lane runs at once (`CALOTYPE_CPU_WORKERS`; default the
        /// core count clamped to 2...4).
        public var cpuWorkers: Int
        /// Jobs each GPU lane runs at once (`CALOTYPE_GPU_WORKERS`; default 1,
        /// 2 at most advised).
        public var gpuWorkers: Int
        /// Queue bound and deadline (`CALOTYPE_QUEUE_LIMIT`, default 256;
        /// `CALOTYPE_JOB_TIMEOUT` in seconds, default 60).
        public var scheduler: Scheduler.Configuration
        public var limits: ImageLimits

        public init(
            cpuWorkers: Int = Configuration.defaultCPUWorkers, gpuWorkers: Int = 1,
            scheduler: Scheduler.Configuration = .init(), limits: ImageLimits = .init()
        ) {
            self.cpuWorkers = cpuWorkers
            self.gpuWorkers = gpuWorkers
            self.scheduler = scheduler
            self.limits = limits
        }

        public static var defaultCPUWorkers: Int {
            min(max(ProcessInfo.processInfo.activeProcessorCount, 2), 4)
        }

        /// Reads the `CALOTYPE_*` variables over the defaults; a malformed value is an error naming it.
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Configuration {
            var configuration = Configuration()
            func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
                guard let text = environment[name] else { return nil }
                guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                    throw ConfigurationError(variable: name, value: text, allowed: "an integer in \(range.lowerBound)...\(range.upperBound)")
                }
                return value
            }
            if let workers = try integer("CALOTYPE_CPU_WORKERS", in: 1...64) { configuration.cpuWorkers = workers }
            if let workers = try integer("CALOTYPE_GPU_WORKERS", in: 1...8) { configuration.gpuWorkers = workers }
            if let limit = try integer("CALOTYPE_QUEUE_LIMIT", in: 1...1_000_000) { configuration.scheduler.queueLimit = limit }
            if let seconds = try integer("CALOTYPE_JOB_TIMEOUT", in: 1...86_400) { configuration.scheduler.jobTimeout = .seconds(seconds) }
            if let megapixels = try integer("CALOTYPE_MAX_MEGAPIXELS", in: 1...1_000) { configuration.limits.maxPixels = megapixels * 1_000_000 }
            return configuration
        }

        /// libvips threads per job, so that lanes x workers x threads matches the cores.
        var libvipsThreadsPerJob: Int {
            max(1, ProcessInfo.processInfo.activeProcessorCount / max(cpuWorkers, 1))
        }
    }

    public let scheduler: Scheduler
    public let configuration: Configuration
    /// The CPU backend, for callers that report what it can do.
    public let cpu: LibvipsBackend
    private let threads: NIOThreadPool

    /// Starts libvips and the worker threads. The threads are stopped by `shutdown()`.
    public init(_ configuration: Configuration) throws(ProcessingError) {
        let threads = NIOThreadPool(numberOfThreads: configuration.cpuWorkers)
        threads.start()
        do {
            cpu = try LibvipsBackend(
                configuration: .init(threadsPerJob: configuration.libvipsThreadsPerJob, limits: configuration.limits),
                threadPool: threads)
        } catch {
            threads.shutdownGracefully { _ in }
            throw error
        }
        self.threads = threads
        self.configuration = configuration
        let lanes = [Scheduler.LaneSpecification(backend: cpu, workers: configuration.cpuWorkers)]
        scheduler = Scheduler(lanes: lanes, configuration: configuration.scheduler)
    }

    /// Refuses new work, lets running jobs finish and stops the threads.
    public func shutdown() async {
        await scheduler.stopAccepting()
        try? await threads.shutdownGracefully()
    }
}

/// An environment variable with a value Calotype cannot use.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var variable: String
    public var value: String
    public var allowed: String

    public init(variable: String, value: String, allowed: String) {
        self.variable = variable
        self.value = value
        self.allowed = allowed
    }

    public var description: String { "\(variable) must be \(allowed), got '\(value)'" }
}
