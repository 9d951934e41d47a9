import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import Scheduler

/// The engines the in-process modes run on, one per configuration (backend
/// and workers), started once and reused every round.
final class EnginePool {
    struct Key: Hashable {
        var useGPU: Bool
        var cpuWorkers: Int
        var gpuWorkers: Int
    }

    private let base: Engine.Configuration
    private var engines: [Key: Engine] = [:]

    init(base: Engine.Configuration) {
        self.base = base
    }

    /// The engine for `key`, started (and calibrated) on first use.
    func engine(_ key: Key) async throws -> Engine {
        if let engine = engines[key] { return engine }
        var configuration = base
        configuration.useGPU = key.useGPU
        configuration.cpuWorkers = key.cpuWorkers
        configuration.gpuWorkers = key.gpuWorkers
        let engine: Engine
        do {
            engine = try await Engine.start(configuration)
        } catch {
            throw BenchError.engine("\(error)")
        }
        await engine.calibrate()
        engines[key] = engine
        return engine
    }

    func shutdown() async {
        for engine in engines.values { await engine.shutdown() }
        engines = [:]
    }
}

/// The Calotype modes in this process (the engine and its scheduler, no HTTP)
/// and the raw libvips baseline beside them.
struct InProcessModes {
    let images: BenchImages
    let recipe: Recipe
    let backends: [Placement]
    let sweep: [Int]
    let base: Engine.Configuration
    let rawPlan: RawLibvipsPlan?
    let pool: EnginePool

    private var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// sequential, parallel and the sweep per backend, then the raw baseline
    /// at 1 thread, at the default workers and at each sweep count.
    func runners() async throws -> [ModeRunner] {
        var runners: [ModeRunner] = []
        for backend in backends {
            let useGPU = backend != .cpu
            let defaults = try await pool.engine(.init(useGPU: useGPU, cpuWorkers: base.cpuWorkers, gpuWorkers: base.gpuWorkers))
            let workers = backend == .gpu && !defaults.gpus.isEmpty ? base.gpuWorkers : base.cpuWorkers
            runners.append(
                schedulerRunner(
                    BenchMode(kind: .calotype, role: .sequential, backend: backend, workers: workers, inFlight: 1),
                    engine: defaults
                )
            )
            runners.append(
                schedulerRunner(
                    BenchMode(kind: .calotype, role: .parallel, backend: backend, workers: workers, inFlight: Self.inFlight(defaults)),
                    engine: defaults
                )
            )
            for count in sweep {
                // The sweep varies the workers of the lanes the backend places on:
                // the GPU lanes for `gpu` when there are any, else the CPU lane.
                let variesGPU = backend == .gpu && !defaults.gpus.isEmpty
                let key = EnginePool.Key(
                    useGPU: useGPU,
                    cpuWorkers: variesGPU ? base.cpuWorkers : count,
                    gpuWorkers: variesGPU ? count : base.gpuWorkers
                )
                let engine = try await pool.engine(key)
                runners.append(
                    schedulerRunner(
                        BenchMode(kind: .calotype, role: .sweep, backend: backend, workers: count, inFlight: Self.inFlight(engine)),
                        engine: engine
                    )
                )
            }
        }
        if let rawPlan {
            // One image at a time, the engine gives a lone job every core unless adaptive threads are off.
            let sequentialShare = base.adaptiveLibvipsThreads ? 1 : base.cpuWorkers
            runners.append(rawRunner(BenchMode(kind: .libvips, role: .sequential, workers: 1, inFlight: 1), plan: rawPlan, perJobOf: sequentialShare))
            runners.append(
                rawRunner(
                    BenchMode(kind: .libvips, role: .parallel, workers: base.cpuWorkers, inFlight: base.cpuWorkers),
                    plan: rawPlan,
                    perJobOf: base.cpuWorkers
                )
            )
            for count in sweep {
                runners.append(rawRunner(BenchMode(kind: .libvips, role: .sweep, workers: count, inFlight: count), plan: rawPlan, perJobOf: count))
            }
        }
        return runners
    }

    /// Images in flight for the parallel modes: one per worker of every lane,
    /// as `/process-batch-fast` runs them and as the raw baseline has one image
    /// per thread. The next image is submitted the moment one finishes, so no
    /// worker waits; more in flight would only add queue wait to the latencies
    /// (`calotype process` keeps twice as many to hide its file reads and writes,
    /// which the benchmark does not do).
    static func inFlight(_ engine: Engine) -> Int {
        engine.scheduler.defaultBatchParallelism
    }

    /// A round through the scheduler's batch runner, the loop the server's
    /// batch endpoints and `calotype process` run. Latency is the
    /// scheduler's: queue wait plus service time.
    private func schedulerRunner(_ mode: BenchMode, engine: Engine) -> ModeRunner {
        let images = images.images
        let recipe = recipe
        let threadsPerJob = max(1, cores / engine.configuration.cpuWorkers)
        return ModeRunner(mode: mode) { tick in
            // libvips' thread count is process-wide: set it for this engine's workers.
            try LibvipsRuntime.shared().setThreadsPerJob(threadsPerJob)
            let inputs = images.map { ImageInput(bytes: $0.bytes, name: $0.name) }
            let clock = ContinuousClock()
            let start = clock.now
            var sample = RoundSample()
            let plan = BatchPlan(recipe: recipe, placement: mode.backend ?? .auto, parallelism: mode.inFlight ?? 1)
            _ = await engine.scheduler.runBatch(
                inputs.map(BatchItem.init),
                plan: plan,
                complete: { index, result in BatchItemResult(index: index, name: inputs[index].name, outcome: result) },
                finished: { index, item in
                    let now = clock.now
                    switch item.outcome {
                    case .success(let result):
                        sample.recordSuccess(
                            latency: (result.queueWait + result.serviceTime).secondsValue,
                            megapixels: images[index].megapixels,
                            backend: result.lane,
                            fallback: result.fallback
                        )
                        sample.recordFirstResult(at: (now - start).secondsValue)
                        tick(nil)
                    case .failure(let error):
                        let message = "\(images[index].name): \(error)"
                        sample.recordFailure(message)
                        tick(message)
                    }
                }
            )
            sample.seconds = (clock.now - start).secondsValue
            return sample
        }
    }

    /// libvips runs `cores / perJobOf` threads per image, the rule Calotype's
    /// engine applies to the jobs running at once, so both sides use the
    /// cores alike.
    private func rawRunner(_ mode: BenchMode, plan: RawLibvipsPlan, perJobOf workers: Int) -> ModeRunner {
        let images = images.images
        let threadsPerJob = max(1, cores / max(workers, 1))
        return ModeRunner(mode: mode) { tick in
            let sample = await RawLibvipsBaseline.run(images, plan: plan, threads: mode.workers ?? 1, threadsPerJob: threadsPerJob)
            for _ in 0..<sample.succeeded { tick(nil) }
            for _ in 0..<sample.failed { tick(sample.firstError) }
            return sample
        }
    }
}
