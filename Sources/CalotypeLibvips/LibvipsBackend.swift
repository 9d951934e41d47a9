import CVips
import CalotypeCore
import Foundation
import NIOPosix

/// The CPU backend: every operation through libvips, on threads of its own.
///
/// libvips calls block for the whole job, so `process` hands each job to a
/// `NIOThreadPool` the caller owns (sized to the number of jobs it wants at
/// once) and suspends until it is done; Swift's cooperative threads never
/// wait on libvips.
public struct LibvipsBackend: ImageBackend {
    public struct Configuration: Sendable {
        /// libvips' own worker threads per image when every worker is busy,
        /// and process-wide for libvips work outside this backend. With as
        /// many jobs as cores, 1 per job is fastest (2 jobs x 1 thread beat
        /// 1 job x 2 threads by 44% on 2 cores).
        public var threadsPerJob: Int
        /// Whether a job that starts while other workers are idle may use
        /// their cores too (see `LibvipsThreadShare`).
        public var adaptiveThreads: Bool
        /// The cores a lone job may spread over.
        public var cores: Int
        public var limits: ImageLimits
        /// The server's watermark image (`CALOTYPE_WATERMARK_PATH`), decoded at start.
        public var watermark: WatermarkImage?

        public init(
            threadsPerJob: Int = 1,
            adaptiveThreads: Bool = true,
            cores: Int = ProcessInfo.processInfo.activeProcessorCount,
            limits: ImageLimits = ImageLimits(),
            watermark: WatermarkImage? = nil
        ) {
            self.threadsPerJob = threadsPerJob
            self.adaptiveThreads = adaptiveThreads
            self.cores = cores
            self.limits = limits
            self.watermark = watermark
        }
    }

    public let name = "libvips"
    public let kind = BackendKind.cpu
    public let supportedOperations = Set(OperationKind.allCases)
    public let configuration: Configuration
    /// The libvips version, e.g. `8.14.1`.
    public let libraryVersion: String
    /// The output formats this libvips build can write.
    public let writableFormats: Set<OutputFormat>
    /// Whether this libvips needed the idle-thread exit fix, and whether it is in force.
    public let idleThreadExitFix: IdleThreadExitFix
    private let threadPool: NIOThreadPool
    private let threadShare: LibvipsThreadShare
    private let watermark: LibvipsWatermark?

    /// Starts libvips (once per process) and prepares to run jobs on `threadPool`.
    public init(configuration: Configuration = Configuration(), threadPool: NIOThreadPool) throws(ProcessingError) {
        let runtime = try LibvipsRuntime.shared()
        runtime.setThreadsPerJob(configuration.threadsPerJob)
        self.configuration = configuration
        self.libraryVersion = runtime.version
        self.writableFormats = runtime.writableFormats
        self.idleThreadExitFix = runtime.idleThreadExitFix
        self.threadPool = threadPool
        // Decoded once, refused at start when it is not an image.
        self.watermark = try configuration.watermark.map { watermark throws(ProcessingError) in
            try LibvipsWatermark(watermark, limits: configuration.limits)
        }
        self.threadShare = LibvipsThreadShare(
            cores: configuration.cores,
            minimum: configuration.threadsPerJob,
            adaptive: configuration.adaptiveThreads
        )
    }

    public func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        let (limits, writable, name, share, watermark) = (configuration.limits, writableFormats, self.name, threadShare, self.watermark)
        return try await BlockingJob.run(on: threadPool, input: input, backend: name) { buffer, killSwitch throws(ProcessingError) in
            let threads = share.begin()
            defer { share.end() }
            return try LibvipsPipeline.run(
                buffer,
                name: input.name,
                recipe: recipe,
                limits: limits,
                writableFormats: writable,
                backend: name,
                threads: threads,
                killSwitch: killSwitch,
                watermark: watermark
            )
        }
    }
}
