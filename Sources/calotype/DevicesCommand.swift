import ArgumentParser
import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix

/// `calotype devices`: what this machine can run and read and write.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the backends, devices and formats available on this machine.",
        discussion: """
            OpenCL GPUs and accelerators are used by default; CPU OpenCL devices (PoCL) only with \
            CALOTYPE_OPENCL_CPU=1. Compiled kernels are cached in CALOTYPE_CACHE_DIR (default: the user's cache folder).
            """
    )

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    func run() async throws {
        let engine: Engine.Configuration
        do {
            engine = try Engine.Configuration.read(from: try await settingsOptions.load())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        LibvipsRuntime.warningsShown.withLockedValue { $0 = engine.libvipsWarnings }
        let pool = NIOThreadPool(numberOfThreads: 1)
        let backend: LibvipsBackend
        do {
            backend = try LibvipsBackend(threadPool: pool)
        } catch {
            print("libvips: unavailable (\(error))")
            throw ExitCode(1)
        }
        print("cpu: libvips \(backend.libraryVersion)")
        print("  reads:  jpeg, png, webp, gif, tiff, heif/avif (all other loaders are blocked)")
        let writable = [OutputFormat.jpeg, .png, .webp, .avif]
        let formats = writable.map { backend.writableFormats.contains($0) ? $0.rawValue : "\($0.rawValue) (not in this build)" }
        print("  writes: \(formats.joined(separator: ", "))")
        print("  idle-thread exit fix: \(backend.idleThreadExitFix)")
        printOpenCL(engine.openCL, threadPool: pool)
    }

    private func printOpenCL(_ configuration: OpenCLBackend.Configuration, threadPool: NIOThreadPool) {
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
            print("    global memory:   \(Self.bytes(device.globalMemory))")
            print("    max allocation:  \(Self.bytes(device.maxAllocation))")
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
