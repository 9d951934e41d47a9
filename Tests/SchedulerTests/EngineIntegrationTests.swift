import Backends
import Foundation
import Scheduler
import Testing

/// The real engine: libvips behind the scheduler, on real images.
@Suite("Engine: real images through the scheduler", .timeLimit(.minutes(2)))
struct EngineIntegrationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BackendsTests/Fixtures")

    func input(_ name: String) throws -> ImageInput {
        ImageInput(bytes: try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent(name))), name: name)
    }

    @Test func aBatchOnAutoCompletesWithEveryResultCorrect() async throws {
        let engine = try Engine(.init(cpuWorkers: 2))
        let names = ["photo.jpg", "exif-rotated.jpg", "alpha.png", "photo.webp", "photo.gif", "photo.tif", "cmyk.jpg", "deep.png"]
        let inputs = try (0..<3).flatMap { _ in try names.map(input) }
        let recipe = try Recipe(shorthand: "width=64&format=png")
        var seen = Set<Int>()
        for await item in engine.scheduler.batch(inputs, recipe: recipe, parallelism: 4) {
            let result = try item.outcome.get()
            #expect(result.lane == "libvips" && result.kind == .cpu && !result.fallback)
            #expect(result.image.format == .png && result.image.width == 64)
            let size = try #require(ImageSize.sniff(result.image.bytes))
            #expect(size.width == 64 && size.height == result.image.height)
            #expect(seen.insert(item.index).inserted)
        }
        #expect(seen == Set(inputs.indices))
        let statistics = await engine.scheduler.statistics()
        #expect(statistics.lanes[0].completed == inputs.count)
        #expect(statistics.lanes[0].costModel[0].observations == inputs.count)
        await engine.shutdown()
    }

    @Test func badImagesInABatchFailAloneWithTheirErrors() async throws {
        let engine = try Engine(.init(cpuWorkers: 2))
        let inputs = [try input("photo.jpg"), try input("document.pdf"), try input("huge-header.png"), ImageInput(bytes: [], name: "empty"), try input("photo.webp")]
        var codes: [Int: String] = [:]
        for await item in engine.scheduler.batch(inputs, recipe: try Recipe(shorthand: "width=32"), parallelism: 2) {
            switch item.outcome {
            case .success: codes[item.index] = "ok"
            case .failure(let error): codes[item.index] = error.code
            }
        }
        #expect(codes == [0: "ok", 1: "unsupported_format", 2: "too_large", 3: "corrupt", 4: "ok"])
        await engine.shutdown()
    }

    @Test func askingForAGPUOnAMachineWithoutOneRunsOnTheCPUMarkedAsFallback() async throws {
        let engine = try Engine(.init(cpuWorkers: 1))
        let result = try await engine.scheduler.submit(JobRequest(input: try input("photo.jpg"), recipe: try Recipe(shorthand: "width=10"), placement: .gpu))
        #expect(result.lane == "libvips" && result.fallback)
        await engine.shutdown()
    }

    @Test func theEnvironmentConfiguresTheEngine() throws {
        let configuration = try Engine.Configuration.fromEnvironment([
            "CALOTYPE_CPU_WORKERS": "3", "CALOTYPE_GPU_WORKERS": "2", "CALOTYPE_QUEUE_LIMIT": "10", "CALOTYPE_JOB_TIMEOUT": "5",
        ])
        #expect(configuration.cpuWorkers == 3 && configuration.gpuWorkers == 2)
        #expect(configuration.scheduler.queueLimit == 10 && configuration.scheduler.jobTimeout == .seconds(5))
        #expect(throws: ConfigurationError.self) { try Engine.Configuration.fromEnvironment(["CALOTYPE_CPU_WORKERS": "lots"]) }
        #expect(throws: ConfigurationError.self) { try Engine.Configuration.fromEnvironment(["CALOTYPE_QUEUE_LIMIT": "0"]) }
        let defaults = try Engine.Configuration.fromEnvironment([:])
        #expect((2...4).contains(defaults.cpuWorkers) && defaults.gpuWorkers == 1 && defaults.scheduler.queueLimit == 256)
    }
}
