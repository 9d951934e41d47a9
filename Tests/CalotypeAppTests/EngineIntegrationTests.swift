import CalotypeApp
import CalotypeCore
import CalotypeOpenCL
import Foundation
import Scheduler
import Testing

/// The real engine: libvips behind the scheduler, on real images.
@Suite("Engine: real images through the scheduler", .timeLimit(.minutes(2)))
struct EngineIntegrationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func input(_ name: String) throws -> ImageInput {
        ImageInput(bytes: try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent(name))), name: name)
    }

    @Test func aBatchOnAutoCompletesWithEveryResultCorrect() async throws {
        let engine = try await Engine.start(.init(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600))))
        let names = ["photo.jpg", "exif-rotated.jpg", "alpha.png", "photo.webp", "photo.gif", "photo.tif", "cmyk.jpg", "deep.png"]
        let inputs = try (0..<3).flatMap { _ in try names.map(input) }
        let recipe = try Recipe(shorthand: "width=64&format=png")
        var seen = Set<Int>()
        for await item in engine.scheduler.batch(inputs, plan: BatchPlan(recipe: recipe, parallelism: 4)) {
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
        let engine = try await Engine.start(.init(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600))))
        let inputs = [
            try input("photo.jpg"), try input("document.pdf"), try input("huge-header.png"), ImageInput(bytes: [], name: "empty"),
            try input("photo.webp"),
        ]
        var codes: [Int: String] = [:]
        for await item in engine.scheduler.batch(inputs, plan: BatchPlan(recipe: try Recipe(shorthand: "width=32"), parallelism: 2)) {
            switch item.outcome {
            case .success: codes[item.index] = "ok"
            case .failure(let error): codes[item.index] = error.code
            }
        }
        #expect(codes == [0: "ok", 1: "unsupported_format", 2: "too_large", 3: "corrupt", 4: "ok"])
        await engine.shutdown()
    }

    @Test func askingForAGPUOnAMachineWithoutOneRunsOnTheCPUMarkedAsFallback() async throws {
        let engine = try await Engine.start(.init(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(600))))
        let result = try await engine.scheduler.submit(
            JobRequest(input: try input("photo.jpg"), recipe: try Recipe(shorthand: "width=10"), placement: .gpu)
        )
        #expect(result.lane == "libvips" && result.fallback)
        await engine.shutdown()
    }

    @Test func theEnvironmentConfiguresTheEngine() throws {
        let configuration = try Engine.Configuration.fromEnvironment([
            "CALOTYPE_CPU_WORKERS": "3", "CALOTYPE_GPU_WORKERS": "2", "CALOTYPE_QUEUE_LIMIT": "10", "CALOTYPE_JOB_TIMEOUT": "5",
            "CALOTYPE_ADAPTIVE_THREADS": "off",
        ])
        #expect(configuration.cpuWorkers == 3 && configuration.gpuWorkers == 2 && !configuration.adaptiveLibvipsThreads)
        #expect(configuration.scheduler.queueLimit == 10 && configuration.scheduler.jobTimeout == .seconds(5))
        #expect(throws: ConfigurationError.self) { try Engine.Configuration.fromEnvironment(["CALOTYPE_CPU_WORKERS": "lots"]) }
        #expect(throws: ConfigurationError.self) { try Engine.Configuration.fromEnvironment(["CALOTYPE_QUEUE_LIMIT": "0"]) }
        let defaults = try Engine.Configuration.fromEnvironment([:])
        #expect((2...4).contains(defaults.cpuWorkers) && defaults.gpuWorkers == 1 && defaults.scheduler.queueLimit == 256)
        #expect(defaults.adaptiveLibvipsThreads)
    }
}

/// The real engine with PoCL standing in for a GPU: two lanes, libvips and OpenCL.
@Suite("Engine: CPU and OpenCL (PoCL) lanes", .timeLimit(.minutes(3)))
struct GPUEngineIntegrationTests {
    func engine(fault: OpenCLFault? = nil) async throws -> Engine {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-engine-tests-cache")
        return try await Engine.start(
            .init(
                cpuWorkers: 1,
                gpuWorkers: 1,
                scheduler: .init(jobTimeout: .seconds(600)),
                openCL: .init(allowCPUDevices: true, cacheDirectory: cache, fault: fault)
            )
        )
    }

    func input(_ name: String) throws -> ImageInput {
        ImageInput(bytes: try [UInt8](Data(contentsOf: EngineIntegrationTests.fixtures.appendingPathComponent(name))), name: name)
    }

    /// Not calibrated on purpose: once calibrated, placement follows measured
    /// speed, and PoCL sharing two cores with libvips may be so slow that a
    /// correct scheduler never picks it. Uncalibrated, the GPU prior is the
    /// faster one, so the first item goes to the device whatever the timing.
    @Test func aBatchOnAutoUsesBothLanesAndEveryResultMatchesTheCPU() async throws {
        let engine = try await engine()
        let gpuLane = try #require(engine.gpus.first?.name, "PoCL is installed with the system packages; no device means a broken set-up")
        let names = ["photo.jpg", "exif-rotated.jpg", "photo.webp", "photo.gif", "photo.tif", "cmyk.jpg", "alpha.png"]
        let inputs = try (0..<4).flatMap { _ in try names.map(input) }
        let recipe = try Recipe(shorthand: "width=64&format=png")
        var lanes: [String: Int] = [:]
        for await item in engine.scheduler.batch(inputs, plan: BatchPlan(recipe: recipe, parallelism: 4)) {
            let result = try item.outcome.get()
            lanes[result.lane, default: 0] += 1
            let reference = try await engine.cpu.process(inputs[item.index], recipe: recipe)
            #expect(result.image.bytes == reference.bytes, "\(inputs[item.index].name ?? "") on \(result.lane)")
        }
        #expect(lanes.values.reduce(0, +) == inputs.count)
        #expect(lanes[gpuLane, default: 0] > 0, "the OpenCL lane took work: \(lanes)")
        let statistics = await engine.scheduler.statistics()
        #expect(statistics.lanes.count == 2 && statistics.lanes[1].kind == .gpu)
        #expect(statistics.lanes[1].costModel[0].observations > 0)
        await engine.shutdown()
    }

    @Test func calibrationMeasuresEveryLaneOnTheSampleRecipe() async throws {
        let engine = try await engine()
        await engine.calibrate()
        let lanes = await engine.scheduler.statistics().lanes
        #expect(lanes.count == 2)
        for lane in lanes {
            let model = try #require(lane.costModel.first { $0.recipe == "resize>jpeg" }, "\(lane.name) learnt nothing: \(lane.costModel)")
            #expect(model.observations == 2, "two timed rounds after the warm-up on \(lane.name)")
            #expect(model.fixedSeconds + model.secondsPerMegapixel > 0)
            #expect(lane.costModel.first { $0.recipe == "*" }?.observations == 2)
            #expect(lane.completed == 0, "calibration is not traffic")
        }
        await engine.shutdown()
    }

    @Test func gpuPlacementRunsOnTheDeviceAndUnsupportedRecipesStayOnTheCPU() async throws {
        let engine = try await engine()
        let gpuLane = try #require(engine.gpus.first?.name)
        let onDevice = try await engine.scheduler.submit(
            JobRequest(input: try input("photo.jpg"), recipe: try Recipe(shorthand: "width=50&blur=1"), placement: .gpu)
        )
        #expect(onDevice.lane == gpuLane && !onDevice.fallback)
        let attention = try Recipe(shorthand: "width=50&height=50&fit=cover&gravity=attention")
        let onCPU = try await engine.scheduler.submit(JobRequest(input: try input("photo.jpg"), recipe: attention, placement: .gpu))
        #expect(onCPU.lane == "libvips" && onCPU.fallback)
        await engine.shutdown()
    }

    @Test func aFailingDeviceIsRetriedOnTheCPUThenQuarantined() async throws {
        let engine = try await engine(fault: .kernel)
        let gpuLane = try #require(engine.gpus.first?.name)
        for _ in 0..<3 {
            let result = try await engine.scheduler.submit(
                JobRequest(input: try input("photo.jpg"), recipe: try Recipe(shorthand: "width=50&blur=1"), placement: .gpu)
            )
            #expect(result.lane == "libvips" && result.fallback && result.retried)
        }
        let lane = try #require(await engine.scheduler.statistics().lanes.first { $0.name == gpuLane })
        #expect(!lane.healthy && lane.quarantines == 1 && lane.retried == 3)
        let afterwards = try await engine.scheduler.submit(
            JobRequest(input: try input("photo.jpg"), recipe: try Recipe(shorthand: "width=50&blur=1"), placement: .gpu)
        )
        #expect(afterwards.lane == "libvips" && afterwards.fallback && !afterwards.retried)
        await engine.shutdown()
    }
}
