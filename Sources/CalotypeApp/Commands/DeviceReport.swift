import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix

/// What `calotype devices` prints: libvips and the formats it reads and
/// writes, then every OpenCL device, whether it serves and why not, its
/// kernels and its self-check against libvips. Made on a thread of its
/// own: it starts libvips and builds every device's kernels.
public enum DeviceReport {
    /// The report's lines; `available` is false when libvips cannot start.
    public static func make(_ engine: Engine.Configuration) async -> (lines: [String], available: Bool) {
        await onAThreadOfItsOwn { lines(engine) }
    }

    private static func lines(_ engine: Engine.Configuration) -> (lines: [String], available: Bool) {
        var lines: [String] = []
        func print(_ line: String) { lines.append(line) }
        LibvipsRuntime.warningsShown.withLockedValue { $0 = engine.libvipsWarnings }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { try? pool.syncShutdownGracefully() }
        let backend: LibvipsBackend
        do {
            backend = try LibvipsBackend(threadPool: pool)
        } catch {
            print("libvips: unavailable (\(error))")
            return (lines, false)
        }
        print("cpu: libvips \(backend.libraryVersion)")
        print("  reads:  jpeg, png, webp, gif, tiff, heif/avif (all other loaders are blocked)")
        let writable = OutputFormat.encoded
        let formats = writable.map { backend.writableFormats.contains($0) ? $0.rawValue : "\($0.rawValue) (not in this build)" }
        print("  writes: \(formats.joined(separator: ", "))")
        print("  idle-thread exit fix: \(backend.idleThreadExitFix)")
        openCL(engine.openCL, threadPool: pool, print: print)
        return (lines, true)
    }

    private static func openCL(_ configuration: OpenCLBackend.Configuration, threadPool: NIOThreadPool, print: (String) -> Void) {
        let discovery = OpenCLBackend.discover(configuration)
        switch discovery.state {
        case .noLoader:
            print("gpu: no OpenCL library (libOpenCL.so.1, the ICD loader, is not installed); every job runs on the CPU")
            return
        case .noPlatform:
            print("gpu: no OpenCL platform (no OpenCL driver installed); every job runs on the CPU")
            return
        case .noDevice:
            print("gpu: OpenCL is installed but reports no device; every job runs on the CPU")
            return
        case .failed(let reason):
            print("gpu: OpenCL could not be queried (\(reason)); every job runs on the CPU")
            return
        case .devices:
            break
        }
        print(
            "gpu: OpenCL, \(discovery.devices.count) device(s)\(discovery.allowsCPUDevices ? " (CPU devices admitted: CALOTYPE_OPENCL_CPU=1)" : "")"
        )
        for device in discovery.devices {
            print("  opencl:\(device.index): \(device.name) [\(device.type.rawValue)]")
            print("    platform:        \(device.platform)")
            print("    vendor:          \(device.vendor)")
            print("    driver:          \(device.driverVersion)")
            print("    version:         \(device.openCLVersion)")
            print("    compute units:   \(device.computeUnits)")
            print("    global memory:   \(bytes(device.globalMemory))")
            print("    max allocation:  \(bytes(device.maxAllocation))")
            print("    double precision: \(device.hasDoubles ? "yes" : "no (grayscale and sharpen stay on the CPU)")")
            guard device.admitted else {
                let why =
                    device.type == .cpu
                    ? "a CPU device; set CALOTYPE_OPENCL_CPU=1 to use it" : "not available"
                print("    serves:          nothing (\(why))")
                continue
            }
            do {
                let backend = try OpenCLBackend(device: device, configuration: configuration, threadPool: threadPool)
                print("    serves:          the gpu backend as \(backend.name)")
                print(
                    "    kernels:         \(backend.programOrigin == "cache" ? "loaded from the cache" : "compiled") (\(configuration.cacheDirectory?.path ?? "no cache"))"
                )
                print("    self-check:      \(backend.selfCheck.description)")
            } catch {
                print("    serves:          nothing (\(error))")
            }
        }
    }

    private static func bytes(_ count: Int) -> String {
        let gib = Double(count) / Double(1 << 30)
        if gib >= 1 { return String(format: "%.1f GiB", gib) }
        return String(format: "%.0f MiB", Double(count) / Double(1 << 20))
    }
}
