import Benchmark
// Micro benchmarks of every operation on each backend, one encoded image in,
// one encoded image out (decode, the operation, encode), through the same
// `ImageBackend.process` the scheduler calls.
//
//   cd Benchmarks && swift package benchmark                      # everything
//   swift package benchmark --filter 'libvips/.*'                # one backend
//   CALOTYPE_OPENCL_CPU=1 swift package benchmark                 # PoCL as the OpenCL device
//
// The input is a deterministic synthetic photo (SyntheticImage, the picture
// the scheduler calibrates with: gradients, discs, edges and grain), 1920x1280
// JPEG Q 90, made once per process, so every machine measures the same bytes.
// See README.md for the metrics and why only malloc counts gate regressions.
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix

/// The picture every benchmark processes: 1920 x 1280 (2.5 MP, 3:2), within
/// the sizes of the real photos of the HTTP comparison. Not a power-of-two
/// multiple of the thumbnail sizes, so shrink-on-load leaves a Lanczos
/// step to do, as with real photos.
enum Input {
    static let width = 1920
    static let height = 1280

    static let jpeg: ImageInput = {
        do {
            return ImageInput(bytes: try SyntheticImage.jpeg(width: width, height: height, seed: 6), name: "synthetic-1920x1280.jpg")
        } catch {
            fatalError("cannot make the benchmark image: \(error)")
        }
    }()
}

/// One case: a name and the recipe shorthand it runs. Output is the input's
/// format (JPEG Q 80) unless the recipe says otherwise.
struct Case {
    let name: String
    let shorthand: String
    /// The output's size, checked once before measuring.
    var size: (Int, Int) = (Input.width, Input.height)
}

let cases: [Case] = [
    // The default thumbnail: 800 px wide, fast shrink-on-load (the HTTP default).
    Case(name: "thumbnail-800", shorthand: "width=800", size: (800, 533)),
    // The 512x512-fit thumbnail of the thumbor comparison (compare-thumbor.sh).
    Case(name: "thumbnail-512-fit", shorthand: "width=512&height=512&fit=inside", size: (512, 341)),
    // resize with vipsthumbnail's arithmetic, both sides given, cropped to fill.
    Case(name: "resize", shorthand: "width=640&height=640&fit=cover&fast_shrink=false", size: (640, 640)),
    Case(name: "crop", shorthand: "crop_x=200&crop_y=150&crop_width=1024&crop_height=768", size: (1024, 768)),
    Case(name: "rotate", shorthand: "rotate=90", size: (Input.height, Input.width)),
    Case(name: "flip", shorthand: "flip=horizontal"),
    Case(name: "blur", shorthand: "blur=2"),
    Case(name: "sharpen", shorthand: "sharpen=1"),
    Case(name: "grayscale", shorthand: "grayscale=true"),
    Case(name: "adjust", shorthand: "brightness=0.1&contrast=1.2&gamma=1.1"),
    Case(name: "jpeg-to-webp", shorthand: "format=webp&quality=80"),
    Case(name: "jpeg-to-png", shorthand: "format=png"),
]

/// The backends, made on first use (in a benchmark's setup, not while the
/// benchmarks are only being listed): OpenCL compiles its kernels and runs
/// its self-check when it starts.
enum Shared {
    /// One thread: a job runs on it, as on one worker of the CPU lane, and
    /// libvips uses one thread per job (the server's setting on 2 cores).
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    static let libvips: LibvipsBackend = {
        do {
            // One libvips thread per job, always: a kernel's cost, not the machine's cores.
            return try LibvipsBackend(configuration: .init(threadsPerJob: 1, adaptiveThreads: false), threadPool: pool)
        } catch {
            fatalError("libvips: \(error)")
        }
    }()

    /// The first admitted OpenCL device (a GPU; PoCL's CPU device with
    /// CALOTYPE_OPENCL_CPU=1), or nil.
    static let openCLDevice: OpenCLDeviceInfo? = OpenCLBackend.discover().admitted.first

    static let openCL: OpenCLBackend? = {
        guard let device = openCLDevice else { return nil }
        do {
            return try OpenCLBackend(device: device, configuration: .init(workersPerDevice: 1), threadPool: pool)
        } catch {
            fatalError("OpenCL (\(device.name)): \(error)")
        }
    }()
}

/// Wall-clock, CPU time and resident memory vary with whatever else the
/// machine is doing (a shared 2-core machine here: 10-30% between runs), so
/// they are reported but never fail a comparison. Malloc counts are a
/// property of the code path: the same image through the same recipe makes
/// the same allocations, within a fraction of a percent (libvips' thread
/// pool and buffer recycling, the NIO pool's wake-ups), so a regression that
/// allocates more shows up as a count that grew.
var reportOnly: BenchmarkThresholds { BenchmarkThresholds(relative: BenchmarkThresholds.Relative.none, absolute: BenchmarkThresholds.Absolute.none) }

func thresholds(mallocTolerance: Double) -> [BenchmarkMetric: BenchmarkThresholds] {
    [
        .wallClock: reportOnly,
        .cpuTotal: reportOnly,
        .peakMemoryResident: reportOnly,
        .throughput: reportOnly,
        // A regression: the median or p75 count grew by more than
        // `mallocTolerance` percent (fewer by as much is an improvement).
        .mallocCountTotal: BenchmarkThresholds(relative: [.p50: mallocTolerance, .p75: mallocTolerance]),
    ]
}

func configuration(for backend: String) -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident, .throughput],
        tags: ["backend": backend],
        timeUnits: .microseconds,
        warmupIterations: 2,
        maxDuration: .seconds(3),
        maxIterations: 40,
        // libvips: a single thread, the same count to within about 0.5%.
        // OpenCL: the driver's own threads allocate too (PoCL's scheduler), so more slack.
        thresholds: thresholds(mallocTolerance: backend == "libvips" ? 2 : 5)
    )
}

/// Registers `case` on `backend`: each iteration processes the input once.
func register(_ benchmarkCase: Case, backendName: String, backend: @escaping @Sendable () -> (any ImageBackend)?) {
    let recipe: Recipe
    do {
        recipe = try Recipe(shorthand: benchmarkCase.shorthand)
    } catch {
        fatalError("\(benchmarkCase.name): \(error)")
    }
    Benchmark(
        "\(backendName)/\(benchmarkCase.name)",
        configuration: configuration(for: backendName),
        closure: { benchmark in
            guard let backend = backend() else { return }
            let input = Input.jpeg
            for _ in benchmark.scaledIterations {
                let output = try await backend.process(input, recipe: recipe)
                blackHole(output.bytes.count)
            }
        },
        setup: {
            // Build the input and start the backend outside the measurement.
            _ = Input.jpeg
            guard let backend = backend() else { return }
            if case .unsupported(let reason) = backend.supports(recipe) {
                throw BenchmarkSetupFailure(reason: "\(backendName)/\(benchmarkCase.name): \(reason)")
            }
            // One job first, to check what is measured runs where it should
            // and makes an image of the expected size.
            let output = try await backend.process(Input.jpeg, recipe: recipe)
            let expected = benchmarkCase.size
            guard output.backend.hasPrefix(backendName), (output.width, output.height) == expected else {
                throw BenchmarkSetupFailure(
                    reason:
                        "\(backendName)/\(benchmarkCase.name): \(output.width)x\(output.height) from \(output.backend), expected \(expected.0)x\(expected.1)"
                )
            }
        }
    )
}

struct BenchmarkSetupFailure: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

let benchmarks: @Sendable () -> Void = {
    for benchmarkCase in cases {
        register(benchmarkCase, backendName: "libvips") { Shared.libvips }
    }
    // OpenCL only where a device is admitted; discovery is cheap, starting
    // the device (kernels, self-check) waits for the first setup.
    if let device = Shared.openCLDevice {
        // Without double precision the device runs neither grayscale nor
        // sharpen (the scheduler sends those to the CPU).
        for benchmarkCase in cases where device.hasDoubles || !["grayscale", "sharpen"].contains(benchmarkCase.name) {
            register(benchmarkCase, backendName: "opencl") { Shared.openCL }
        }
    }
}
