import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix
import Testing

@Suite("OpenCL backend: devices, programs, memory, errors", .serialized)
struct OpenCLBackendTests {
    func run(_ backend: some ImageBackend, _ fixture: Fixture, _ shorthand: String) async throws -> ProcessedImage {
        try await backend.process(try fixture.input, recipe: try recipe(shorthand))
    }

    /// A fresh cache folder of its own.
    func temporaryCache() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    // MARK: Devices

    @Test func cpuDevicesAreAdmittedOnlyWhenAsked() async throws {
        // Discovery loads the driver: blocking work, off the cooperative threads.
        let (strict, relaxed) = try await onThreadOfItsOwn {
            (OpenCLDiscovery.discover(allowCPUDevices: false), OpenCLDiscovery.discover(allowCPUDevices: true))
        }
        #expect(strict.admitted.allSatisfy { $0.type != .cpu })
        #expect(relaxed.state == .devices, "PoCL (pocl-opencl-icd) should be installed")
        #expect(!relaxed.admitted.isEmpty)
        for device in relaxed.devices {
            #expect(!device.name.isEmpty && !device.driverVersion.isEmpty && device.openCLVersion.hasPrefix("OpenCL"))
            #expect(device.computeUnits > 0 && device.globalMemory > 0 && device.maxAllocation > 0)
        }
    }

    @Test func describesItself() async throws {
        let backend = try await OpenCLFixture.backend
        #expect(backend.name.hasPrefix("opencl:") && backend.kind == .gpu)
        #expect(backend.selfCheck == .passed, "\(backend.selfCheck.description)")
        if backend.deviceInfo.hasDoubles {
            // Every operation but those without kernels yet (CPU only).
            #expect(
                backend.supportedOperations == Set(OperationKind.allCases).subtracting([.pixelate, .trim, .extend, .padding, .flatten, .watermark])
            )
        }
        #expect(backend.supports(try recipe("width=100&height=100&fit=cover&blur=1&rotate=90")).isSupported)
    }

    // MARK: What goes to the CPU instead

    @Test(arguments: [
        "width=100&height=100&fit=cover&gravity=attention", "width=100&height=100&fit=cover&gravity=entropy",
        "width=1000&enlarge=true", "width=100&strip=false", "width=100&pixelate=8",
    ])
    func declaresUnsupportedRecipes(_ shorthand: String) async throws {
        let backend = try await OpenCLFixture.backend
        let recipe = try recipe(shorthand)
        guard case .unsupported(let reason) = backend.supports(recipe) else {
            Issue.record("\(shorthand) should be unsupported")
            return
        }
        #expect(!reason.isEmpty)
        let error = await #expect(throws: ProcessingError.self) { try await backend.process(try Fixture.photoJPEG.input, recipe: recipe) }
        #expect(error?.code == .unsupportedByBackend && error?.blame == .backend)
    }

    @Test func attentionIsSupportedWhenItCannotApply() async throws {
        // With one side given, every fit is `inside`: nothing is cropped.
        #expect(try await OpenCLFixture.backend.supports(try recipe("width=100&gravity=attention")).isSupported)
    }

    @Test func imagesResizedInAnotherSpaceGoToTheCPU() async throws {
        // The CPU backend resizes these premultiplied in float, or before a
        // colour profile is applied: the device declines rather than differ.
        for fixture in [Fixture.alphaPNG, .cmykJPEG] {
            do {
                let result = try await run(try await OpenCLFixture.backend, fixture, "width=50&format=png")
                let cpu = try await libvips.process(try fixture.input, recipe: try recipe("width=50&format=png"))
                #expect(try Decoded(result.bytes).pixels == Decoded(cpu.bytes).pixels, "\(fixture.rawValue)")
            } catch let error as ProcessingError {
                #expect(error.code == .unsupportedByBackend, "\(fixture.rawValue): \(error)")
            }
        }
    }

    /// An animation kept as one runs frame by frame on the CPU: the device
    /// declines it (the scheduler falls back); its first frame as a still
    /// runs here and matches libvips.
    @Test func animationsGoToTheCPU() async throws {
        let backend = try await OpenCLFixture.backend
        let animation = ImageInput(bytes: try Animation.make(frames: 3, width: 64, height: 48), name: "animation.gif")
        let error = await #expect(throws: ProcessingError.self) { try await backend.process(animation, recipe: try recipe("width=32&format=gif")) }
        #expect(error?.code == .unsupportedByBackend && error?.blame == .backend)
        let still = try await backend.process(animation, recipe: try recipe("flip=horizontal&format=png"))
        let cpu = try await libvips.process(animation, recipe: try recipe("flip=horizontal&format=png"))
        #expect(try Decoded(still.bytes).pixels == Decoded(cpu.bytes).pixels)
    }

    @Test func inputFaultsStayInputFaults() async throws {
        let backend = try await OpenCLFixture.backend
        let corrupt = await #expect(throws: ProcessingError.self) {
            try await backend.process(ImageInput(bytes: Array(try Fixture.photoJPEG.bytes.prefix(600))), recipe: try recipe("width=50"))
        }
        #expect(corrupt?.blame == .input)
        // Damage found while decoding into the device's buffer is the input's too.
        let photo = try Fixture.photoJPEG.bytes
        for shorthand in ["blur=1", "width=100&fast_shrink=false", "width=50"] {
            let truncated = await #expect(throws: ProcessingError.self) {
                try await backend.process(ImageInput(bytes: Array(photo.prefix(photo.count * 6 / 10))), recipe: try recipe(shorthand))
            }
            #expect(truncated?.code == .corrupt && truncated?.blame == .input, "\(shorthand): \(String(describing: truncated))")
        }
        let pdf = await #expect(throws: ProcessingError.self) { try await run(backend, .pdf, "width=50") }
        #expect(pdf?.code == .unsupportedFormat)
        let huge = await #expect(throws: ProcessingError.self) { try await run(backend, .hugeHeaderPNG, "width=50") }
        #expect(huge?.code == .tooLarge)
        let crop = await #expect(throws: ProcessingError.self) { try await run(backend, .photoJPEG, "crop_x=5000&crop_width=10&crop_height=10") }
        #expect(crop?.code == .invalidForImage)
    }

    // MARK: Output

    @Test(arguments: ["width=100&format=jpeg", "width=120&format=webp&quality=70", "blur=1&format=png", "grayscale=true&format=jpeg"])
    func encodesTheSameBytesAsTheCPUBackend(_ shorthand: String) async throws {
        let gpu = try await run(try await OpenCLFixture.backend, .photoJPEG, shorthand)
        let cpu = try await run(try libvips, .photoJPEG, shorthand)
        #expect(gpu.bytes == cpu.bytes)
        #expect((gpu.width, gpu.height, gpu.format) == (cpu.width, cpu.height, cpu.format))
        #expect(gpu.timings.process > .zero && gpu.timings.decode > .zero && gpu.timings.encode > .zero)
    }

    // MARK: Programs

    @Test func compiledProgramsAreCachedAndReusedOnTheNextStart() async throws {
        let cache = try temporaryCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let first = try await OpenCLFixture.make(OpenCLFixture.configuration(cacheDirectory: cache))
        #expect(first.programOrigin == "compiled")
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("opencl").path)
        #expect(files.count == 1 && files[0].hasSuffix(".bin"))
        let second = try await OpenCLFixture.make(OpenCLFixture.configuration(cacheDirectory: cache))
        #expect(second.programOrigin == "cache")
        #expect(second.selfCheck == .passed)
    }

    @Test func aBuildFailureReportsTheCompilerLog() async throws {
        let error = await #expect(throws: ProcessingError.self) {
            try await OpenCLFixture.make(OpenCLFixture.configuration(fault: .build, cacheDirectory: nil))
        }
        #expect(error?.code == .backendFault)
        #expect(error?.detail?.contains("injected build failure") == true, "\(String(describing: error?.detail))")
    }

    // MARK: Faults

    @Test(arguments: [OpenCLFault.alloc, .kernel, .readback])
    func injectedDeviceFaultsAreBackendFaults(_ fault: OpenCLFault) async throws {
        let backend = try await OpenCLFixture.make(OpenCLFixture.configuration(fault: fault))
        let error = await #expect(throws: ProcessingError.self) { try await run(backend, .photoJPEG, "width=100&blur=1") }
        #expect(error?.code == .backendFault && error?.blame == .backend, "\(String(describing: error))")
        #expect(error?.detail?.contains("injected") == true)
    }

    // MARK: Memory

    @Test func anImageLargerThanTheDeviceAllowsIsRefusedUpFront() async throws {
        let backend = try await OpenCLFixture.make(OpenCLFixture.configuration(maxBufferBytes: 100_000))
        let before = backend.bufferStatistics.allocated
        let error = await #expect(throws: ProcessingError.self) { try await run(backend, .photoJPEG, "blur=1") }
        #expect(error?.code == .unsupportedByBackend && error?.blame == .backend)
        #expect(error?.message.contains("230400") == true, "\(String(describing: error))")
        #expect(backend.bufferStatistics.allocated == before, "nothing is allocated for a refused job")
        // A small result still fits.
        _ = try await run(backend, .photoJPEG, "width=100")
    }

    @Test func deviceBuffersAreReusedAcrossJobs() async throws {
        let backend = try await OpenCLFixture.make(OpenCLFixture.configuration())
        _ = try await run(backend, .photoJPEG, "width=200&blur=1.5&sharpen=1")
        let afterFirst = backend.bufferStatistics
        #expect(afterFirst.pooled > 0)
        for _ in 0..<3 {
            _ = try await run(backend, .photoJPEG, "width=200&blur=1.5&sharpen=1")
            _ = try await run(backend, .photoJPEG, "width=150&rotate=90")
        }
        #expect(backend.bufferStatistics.allocated == afterFirst.allocated)
        #expect(backend.bufferStatistics.pooled <= 8)
    }

    // MARK: Concurrency

    @Test func concurrentJobsShareTheDeviceSafely() async throws {
        let backend = try await OpenCLFixture.backend
        let shorthands = ["width=100&blur=1", "width=90&height=90&fit=cover&sharpen=1", "rotate=90&grayscale=true", "width=64&flip=vertical"]
        var expected: [String: EncodedBytes] = [:]
        for shorthand in shorthands {
            expected[shorthand] = try await run(try libvips, .photoJPEG, shorthand + "&format=png").bytes
        }
        let results = try await withThrowingTaskGroup(of: (String, EncodedBytes).self) { group in
            for round in 0..<3 {
                for shorthand in shorthands {
                    group.addTask {
                        _ = round
                        return (shorthand, try await run(backend, .photoJPEG, shorthand + "&format=png").bytes)
                    }
                }
            }
            var all: [(String, EncodedBytes)] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 12)
        for (shorthand, bytes) in results {
            #expect(try Decoded(bytes).pixels == Decoded(try #require(expected[shorthand])).pixels, "\(shorthand)")
        }
    }
}
