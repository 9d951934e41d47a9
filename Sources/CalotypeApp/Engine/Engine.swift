import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix
import Scheduler
import Server

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
        /// `CALOTYPE_JOB_TIMEOUT` in seconds, default 10).
        public var scheduler: Scheduler.Configuration
        public var limits: ImageLimits
        /// Whether a CPU job that starts while other CPU workers are idle may
        /// spread over their cores (`CALOTYPE_ADAPTIVE_THREADS`, default on;
        /// off: every job gets cores / workers libvips threads).
        public var adaptiveLibvipsThreads: Bool
        /// Whether to look for OpenCL devices at all (`CALOTYPE_GPU=off` turns it off).
        public var useGPU: Bool
        /// Which OpenCL devices serve and how (`CALOTYPE_OPENCL_CPU=1` admits
        /// CPU devices such as PoCL; `CALOTYPE_CACHE_DIR`; `CALOTYPE_OPENCL_KERNELS`;
        /// `CALOTYPE_OPENCL_FAULT`).
        public var openCL: OpenCLBackend.Configuration
        /// Whether libvips' warnings reach standard error (`CALOTYPE_VIPS_WARNINGS=1`).
        public var libvipsWarnings = false
        /// The image the `watermark` operation lays (`CALOTYPE_WATERMARK_PATH`,
        /// read at start; decoded when the engine starts, which fails if it
        /// is not an image).
        public var watermark: WatermarkImage?
        /// Bytes the work admitted at once may hold (`CALOTYPE_MEMORY_BUDGET_MB`;
        /// nil: `MemoryBudget.defaultLimit` for the workers started).
        public var memoryBudget: Int?
        /// Told of every job's progress (metrics, tests); keep it cheap.
        public var observer: (@Sendable (Scheduler.Event) -> Void)?

        public init(
            cpuWorkers: Int = Configuration.defaultCPUWorkers,
            gpuWorkers: Int = 1,
            scheduler: Scheduler.Configuration = .init(),
            limits: ImageLimits = .init(),
            adaptiveLibvipsThreads: Bool = true,
            useGPU: Bool = true,
            openCL: OpenCLBackend.Configuration = .init(),
            observer: (@Sendable (Scheduler.Event) -> Void)? = nil
        ) {
            self.observer = observer
            self.cpuWorkers = cpuWorkers
            self.gpuWorkers = gpuWorkers
            self.scheduler = scheduler
            self.limits = limits
            self.adaptiveLibvipsThreads = adaptiveLibvipsThreads
            self.useGPU = useGPU
            self.openCL = openCL
        }

        public static var defaultCPUWorkers: Int {
            min(max(ProcessInfo.processInfo.activeProcessorCount, 2), 4)
        }

        /// Reads `environment` alone over the defaults (`calotype process`,
        /// `devices`, tests); a malformed value is an error naming it.
        package static func fromEnvironment(
            _ environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws(ConfigurationError) -> Configuration {
            try read(from: Settings(environment: environment))
        }

        /// Reads the engine's settings over the defaults; a malformed value is an error naming it.
        public static func read(from settings: Settings) throws(ConfigurationError) -> Configuration {
            var configuration = Configuration()
            func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
                try settings.integer(name, in: range)
            }
            if let workers = try integer("CALOTYPE_CPU_WORKERS", in: 1...64) { configuration.cpuWorkers = workers }
            if let workers = try integer("CALOTYPE_GPU_WORKERS", in: 1...8) { configuration.gpuWorkers = workers }
            if let limit = try integer("CALOTYPE_QUEUE_LIMIT", in: 1...1_000_000) { configuration.scheduler.queueLimit = limit }
            if let seconds = try integer("CALOTYPE_JOB_TIMEOUT", in: 1...86_400) { configuration.scheduler.jobTimeout = .seconds(seconds) }
            if let megapixels = try integer("CALOTYPE_MAX_MEGAPIXELS", in: 1...1_000) { configuration.limits.maxPixels = megapixels * 1_000_000 }
            if let megabytes = try integer("CALOTYPE_MEMORY_BUDGET_MB", in: 16...16_777_216) { configuration.memoryBudget = megabytes << 20 }
            if let scans = try integer("CALOTYPE_MAX_JPEG_SCANS", in: 1...10_000) { configuration.limits.maxJPEGScans = scans }
            if let frames = try integer("CALOTYPE_MAX_ANIMATION_FRAMES", in: 1...ImageLimits.animationFramesCeiling) {
                configuration.limits.maxAnimationFrames = frames
            }
            if let policy = settings.string("CALOTYPE_FAIL_ON") {
                guard let value = DamagedInput(shorthand: policy) else {
                    throw ConfigurationError(
                        variable: "CALOTYPE_FAIL_ON",
                        value: policy,
                        allowed: DamagedInput.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                configuration.limits.failOn = value
            }
            if let useGPU = try settings.flag("CALOTYPE_GPU") { configuration.useGPU = useGPU }
            if let adaptive = try settings.flag("CALOTYPE_ADAPTIVE_THREADS") { configuration.adaptiveLibvipsThreads = adaptive }
            if let warnings = try settings.flag("CALOTYPE_VIPS_WARNINGS") { configuration.libvipsWarnings = warnings }
            if let path = settings.string("CALOTYPE_WATERMARK_PATH") { configuration.watermark = try Self.watermark(at: path) }
            if let allow = try settings.flag("CALOTYPE_OPENCL_CPU") { configuration.openCL.allowCPUDevices = allow }
            let folders = ["CALOTYPE_CACHE_DIR", "XDG_CACHE_HOME", "HOME"].compactMap { name in settings.string(name).map { (name, $0) } }
            configuration.openCL.cacheDirectory = OpenCLBackend.defaultCacheDirectory(environment: Dictionary(uniqueKeysWithValues: folders))
            if let file = settings.string("CALOTYPE_OPENCL_KERNELS") { configuration.openCL.kernelsFile = URL(fileURLWithPath: file) }
            if let fault = settings.string("CALOTYPE_OPENCL_FAULT") {
                guard let value = OpenCLFault(rawValue: fault.lowercased()) else {
                    throw ConfigurationError(
                        variable: "CALOTYPE_OPENCL_FAULT",
                        value: fault,
                        allowed: "one of " + OpenCLFault.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                configuration.openCL.fault = value
            }
            return configuration
        }

        /// libvips threads per job, so that lanes x workers x threads matches the cores.
        var libvipsThreadsPerJob: Int {
            max(1, ProcessInfo.processInfo.activeProcessorCount / max(cpuWorkers, 1))
        }
    }

    public let scheduler: Scheduler
    public let configuration: Configuration
    /// The metrics the scheduler records into, for the server's `/metrics`.
    public let telemetry = Telemetry()
    /// The CPU backend, for callers that report what it can do.
    public let cpu: LibvipsBackend
    /// One backend per OpenCL device that serves.
    public let gpus: [OpenCLBackend]
    /// Devices that were found but could not start, with why.
    public let gpuProblems: [String]
    private let cpuThreads: NIOThreadPool
    private let gpuThreads: NIOThreadPool?

    /// Starts libvips, the OpenCL devices (if any) and their worker threads.
    /// A device that fails to start is reported in `gpuProblems` and left out;
    /// the CPU always serves. The threads are stopped by `shutdown()`.
    public init(_ configuration: Configuration) throws(ProcessingError) {
        LibvipsRuntime.warningsShown.withLockedValue { $0 = configuration.libvipsWarnings }
        let cpuThreads = NIOThreadPool(numberOfThreads: configuration.cpuWorkers)
        cpuThreads.start()
        do {
            cpu = try LibvipsBackend(
                configuration: .init(
                    threadsPerJob: configuration.libvipsThreadsPerJob,
                    adaptiveThreads: configuration.adaptiveLibvipsThreads,
                    limits: configuration.limits,
                    watermark: configuration.watermark
                ),
                threadPool: cpuThreads
            )
        } catch {
            cpuThreads.shutdownGracefully { _ in }
            throw error
        }
        self.cpuThreads = cpuThreads
        self.configuration = configuration

        var gpus: [OpenCLBackend] = []
        var problems: [String] = []
        var gpuThreads: NIOThreadPool?
        if configuration.useGPU {
            var openCL = configuration.openCL
            openCL.workersPerDevice = configuration.gpuWorkers
            openCL.limits = configuration.limits
            let devices = OpenCLBackend.discover(openCL).admitted
            if !devices.isEmpty {
                let threads = NIOThreadPool(numberOfThreads: devices.count * configuration.gpuWorkers)
                threads.start()
                for device in devices {
                    do {
                        gpus.append(try OpenCLBackend(device: device, configuration: openCL, threadPool: threads))
                    } catch {
                        problems.append("\(device.name): \(error)")
                    }
                }
                gpuThreads = threads
            }
        }
        self.gpus = gpus
        self.gpuProblems = problems
        self.gpuThreads = gpuThreads

        var lanes = [Scheduler.LaneSpecification(backend: cpu, workers: configuration.cpuWorkers)]
        lanes += gpus.map { Scheduler.LaneSpecification(backend: $0, workers: configuration.gpuWorkers) }
        let workers = lanes.map(\.workers).reduce(0, +)
        var schedulerConfiguration = configuration.scheduler
        schedulerConfiguration.inputLimits = configuration.limits
        scheduler = Scheduler(
            lanes: lanes,
            configuration: schedulerConfiguration,
            observer: configuration.observer,
            memoryBudget: MemoryBudget(limit: configuration.memoryBudget ?? MemoryBudget.defaultLimit(workers: workers)),
            metrics: telemetry.metrics
        )
    }

    /// Starts an engine on a thread of its own: starting libvips and the
    /// OpenCL devices (building or loading kernels, the self-check) takes
    /// from milliseconds to a minute (PoCL compiling on a fresh machine
    /// under a sanitizer), and must hold neither Swift's cooperative threads
    /// nor `NIOThreadPool.singleton`, which the server parses uploads on
    /// (engines started side by side there stalled other servers' uploads).
    public static func start(_ configuration: Configuration) async throws(ProcessingError) -> Engine {
        let result = await onAThreadOfItsOwn { Result { () throws(ProcessingError) in try Engine(configuration) } }
        return try result.get()
    }

    /// Seeds the cost models with a short run of a synthetic 2-megapixel
    /// photo on every lane, when there is a choice of lanes to make.
    public func calibrate() async {
        guard !gpus.isEmpty else { return }
        let sample = try? await cpuThreads.runIfActive { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 42) }
        guard let sample, let recipe = try? Recipe(shorthand: "width=800&format=jpeg&quality=80") else { return }
        await scheduler.calibrate(with: ImageInput(bytes: sample, name: "calibration.jpg"), recipe: recipe)
    }

    /// Refuses new work, lets running jobs finish and stops the threads.
    public func shutdown() async {
        await scheduler.stopAccepting()
        try? await cpuThreads.shutdownGracefully()
        try? await gpuThreads?.shutdownGracefully()
    }
}
