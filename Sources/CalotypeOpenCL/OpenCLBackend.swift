import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix

/// The GPU backend: one OpenCL device running the recipe's operations as
/// kernels that reproduce libvips' arithmetic, so that its pictures are the
/// CPU backend's pictures. libvips still decodes and encodes, on the host.
///
/// Like the CPU backend, every job runs on a `NIOThreadPool` the caller
/// owns; each job takes one of the device's workers (a command queue with
/// its own kernels) for its device work, so one or two jobs at a time per
/// device are safe.
public struct OpenCLBackend: ImageBackend {
    public struct Configuration: Sendable {
        /// Admit CPU devices such as PoCL (`CALOTYPE_OPENCL_CPU=1`; default off).
        public var allowCPUDevices: Bool
        /// Command queues (and jobs at once) per device.
        public var workersPerDevice: Int
        /// Where compiled programs are cached; `nil` (the default) disables
        /// the cache. `calotype` passes `defaultCacheDirectory(environment:)`.
        public var cacheDirectory: URL?
        /// The kernels' source from this file instead of the resource bundle
        /// (`CALOTYPE_OPENCL_KERNELS`).
        public var kernelsFile: URL?
        /// A deliberate failure, for tests (`CALOTYPE_OPENCL_FAULT`).
        public var fault: OpenCLFault?
        /// Caps the largest device buffer below the device's own maximum
        /// allocation (for tests, or to leave memory to others).
        public var maxBufferBytes: Int?
        /// Device buffers kept for reuse between jobs.
        public var pooledBuffers: Int
        public var limits: ImageLimits

        public init(
            allowCPUDevices: Bool = false,
            workersPerDevice: Int = 2,
            cacheDirectory: URL? = nil,
            kernelsFile: URL? = nil,
            fault: OpenCLFault? = nil,
            maxBufferBytes: Int? = nil,
            pooledBuffers: Int = 8,
            limits: ImageLimits = ImageLimits()
        ) {
            self.allowCPUDevices = allowCPUDevices
            self.workersPerDevice = workersPerDevice
            self.cacheDirectory = cacheDirectory
            self.kernelsFile = kernelsFile
            self.fault = fault
            self.maxBufferBytes = maxBufferBytes
            self.pooledBuffers = pooledBuffers
            self.limits = limits
        }
    }

    public let name: String
    public let kind = BackendKind.gpu
    public let supportedOperations: Set<OperationKind>
    public let configuration: Configuration
    /// The device this backend runs on.
    public var deviceInfo: OpenCLDeviceInfo { runtime.info }
    /// The device's name, for health reports.
    public var device: String { runtime.info.name }
    /// Whether the program was loaded from the disk cache or compiled.
    public var programOrigin: String { runtime.programOrigin.rawValue }
    /// The start-up comparison with libvips on a tiny image.
    public let selfCheck: OpenCLSelfCheck.Result
    let runtime: OpenCLDevice
    private let writableFormats: Set<OutputFormat>
    private let threadPool: NIOThreadPool

    /// `CALOTYPE_CACHE_DIR`, else `$XDG_CACHE_HOME/calotype`, else
    /// `~/.cache/calotype`, from the environment the caller read.
    /// The operations a GPU with double precision runs: a recipe of these
    /// alone is GPU work (a cluster queues it for its GPU nodes first).
    public static let portedOperations = OpenCLOperations.supported(hasDoubles: true)

    public static func defaultCacheDirectory(environment: [String: String]) -> URL {
        OpenCLProgramBuilder.defaultCacheDirectory(environment: environment)
    }

    /// Discovers OpenCL with `configuration`'s device policy.
    public static func discover(_ configuration: Configuration = Configuration()) -> OpenCLDiscovery {
        OpenCLDiscovery.discover(allowCPUDevices: configuration.allowCPUDevices)
    }

    /// A backend for every admitted device (none when there is no OpenCL).
    public static func all(configuration: Configuration = Configuration(), threadPool: NIOThreadPool) throws(ProcessingError) -> [OpenCLBackend] {
        var backends: [OpenCLBackend] = []
        for device in discover(configuration).admitted {
            backends.append(try OpenCLBackend(device: device, configuration: configuration, threadPool: threadPool))
        }
        return backends
    }

    /// Prepares `device`: builds (or loads) the kernels, creates the
    /// workers and runs the start-up self-check.
    public init(device: OpenCLDeviceInfo, configuration: Configuration = Configuration(), threadPool: NIOThreadPool) throws(ProcessingError) {
        let libvips = try LibvipsRuntime.shared()
        runtime = try OpenCLDevice(
            info: device,
            workers: configuration.workersPerDevice,
            cacheDirectory: configuration.cacheDirectory,
            kernelsFile: configuration.kernelsFile,
            fault: configuration.fault,
            maxBufferBytes: configuration.maxBufferBytes,
            pooledBuffers: configuration.pooledBuffers
        )
        name = "opencl:\(device.index)"
        self.configuration = configuration
        writableFormats = libvips.writableFormats
        self.threadPool = threadPool
        supportedOperations = OpenCLOperations.supported(hasDoubles: device.hasDoubles)
        selfCheck = configuration.fault == nil ? OpenCLSelfCheck.run(on: runtime) : .skipped("fault injection is on")
    }

    public func supports(_ recipe: Recipe) -> BackendSupport {
        let missing = recipe.operationKinds.subtracting(supportedOperations)
        guard missing.isEmpty else {
            let names = missing.sorted().map(\.rawValue).joined(separator: ", ")
            let why = missing.allSatisfy { OpenCLOperations.ported[$0] == .doubles } ? "this device has no double precision" : "no kernels yet"
            return .unsupported("\(name) cannot run \(names) (\(why))")
        }
        if case .failed(let reason) = selfCheck {
            return .unsupported("\(name) does not match this libvips: \(reason)")
        }
        if !recipe.output.strip {
            return .unsupported("\(name) does not carry metadata through (strip=false)")
        }
        for operation in recipe.operations {
            guard case .resize(let resize) = operation else { continue }
            if resize.enlarge {
                return .unsupported("\(name) does not enlarge images (libvips' upsizing is not ported)")
            }
            if resize.scalesBeyondTheBox {
                return .unsupported("\(name) resizes to a box only (a scale or a minimum size runs on the CPU)")
            }
            if (resize.effectiveFit == .cover || resize.effectiveFit == .auto) && resize.position != .centre {
                return .unsupported("\(name) crops with centre gravity only (\(resize.gravity.rawValue) runs on the CPU)")
            }
        }
        return .supported
    }

    /// Whether an image of `size` can fit the device at all: its decoded
    /// RGBA pixels in one buffer, twice over in device memory. Shrink-on-load
    /// may make a larger image fit; the scheduler is told the safe answer.
    public func canHold(_ size: ImageSize) -> Bool {
        // A header's sizes (up to 2^32 - 1 each): their product may overflow.
        let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        guard !overflow, pixels >= 0, pixels <= Int.max / 8 else { return false }
        let bytes = pixels * 4
        return bytes <= runtime.maxBufferBytes && 2 * bytes <= runtime.info.globalMemory
    }

    public func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        if case .unsupported(let reason) = supports(recipe) {
            throw ProcessingError(.unsupportedByBackend, reason)
        }
        let limits = configuration.limits
        let writable = writableFormats
        let name = self.name
        let runtime = self.runtime
        return try await BlockingJob.run(on: threadPool, input: input, backend: name) { buffer, _ throws(ProcessingError) in
            try OpenCLJob.run(
                buffer,
                name: input.name,
                recipe: recipe,
                limits: limits,
                writableFormats: writable,
                device: runtime,
                backend: name
            )
        }
    }

    /// Device buffers allocated so far and kept for reuse now (for tests
    /// and statistics).
    public var bufferStatistics: (allocated: Int, pooled: Int) {
        (runtime.pool.allocationCount, runtime.pool.pooledCount)
    }
}
