import CalotypeCore
import Scheduler
import TestSupport
import Testing

/// Headers anyone can write: a 66-byte PNG may declare 2^30 x 2^30 pixels.
/// Two of them submitted at once used to end the process: each committed
/// its decoded estimate (4.6e18 bytes) to the budget before the pixel limit
/// refused it, and the second addition overflowed `Int`.
@Suite("Scheduler: hostile headers", .timeLimit(.minutes(1)))
struct HostileHeaderTests {
    /// Sides a header can declare: PNG's are 32 bits.
    static let absurdSides: [(Int, Int)] = [
        (1 << 30, 1 << 30), (Int(UInt32.max), Int(UInt32.max)), (Int(UInt32.max), 1), (1, Int(UInt32.max)), (50_001, 1_000),
    ]

    func scheduler(_ gate: Gate, budget: MemoryBudget) -> Scheduler {
        var gpu = GatedBackend("gpu", kind: .gpu, gate: gate)
        gpu.maximumPixels = 4_000_000
        return Scheduler(
            lanes: [
                .init(backend: GatedBackend("cpu", kind: .cpu, gate: gate), workers: 1),
                .init(backend: gpu, workers: 1),
            ],
            configuration: .init(inputLimits: ImageLimits(maxPixels: 50_000_000)),
            memoryBudget: budget
        )
    }

    @Test func anInputOverThePixelLimitIsRefusedBeforeAnythingIsCounted() async throws {
        let gate = Gate()
        let budget = MemoryBudget(limit: 320 << 20)
        let scheduler = scheduler(gate, budget: budget)
        for (width, height) in Self.absurdSides {
            await #expect {
                try await scheduler.submit(job("bomb", width: width, height: height))
            } throws: { error in
                guard case SchedulerError.failed(let failure) = error else { return false }
                return failure.code == .tooLarge && failure.message.contains("\(width)x\(height)")
            }
            #expect(budget.used == 0)
        }
        #expect(gate.started.isEmpty, "nothing ran: \(gate.started)")
    }

    /// An animation kept as one counts every frame: 10,000 frames (70 KB of
    /// 1x1 GIF frames) are refused from their block headers before anything
    /// is reserved; written as a still (JPEG), only the first frame counts.
    @Test func tooManyFramesAreRefusedBeforeAnythingIsCounted() async throws {
        let gate = Gate()
        let budget = MemoryBudget(limit: 320 << 20)
        let scheduler = scheduler(gate, budget: budget)
        let animation = ImageInput(bytes: HostileImages.animatedGIF(frames: 10_000), name: "frames.gif")
        await #expect {
            try await scheduler.submit(JobRequest(input: animation, recipe: try Recipe(shorthand: "format=gif")))
        } throws: { error in
            guard case SchedulerError.failed(let failure) = error else { return false }
            return failure.code == .tooLarge && failure.message.contains("10000 frames")
        }
        #expect(budget.used == 0 && gate.started.isEmpty)
        let still = Task { try await scheduler.submit(JobRequest(input: animation, recipe: try Recipe(shorthand: "format=jpeg"))) }
        await gate.waitUntilStarted(1)
        gate.release("frames.gif")
        #expect(try await still.value.image.width == 1)
    }

    @Test func manyAtOnceAreRefusedAndTheSchedulerStillServes() async throws {
        let gate = Gate()
        let budget = MemoryBudget(limit: 320 << 20)
        let scheduler = scheduler(gate, budget: budget)
        let codes = await withTaskGroup(of: String?.self) { group in
            for round in 0..<4 {
                for (index, (width, height)) in Self.absurdSides.enumerated() {
                    group.addTask {
                        do {
                            _ = try await scheduler.submit(job("bomb\(round)-\(index)", width: width, height: height))
                            return nil
                        } catch {
                            return code(error)
                        }
                    }
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(codes.count == 4 * Self.absurdSides.count)
        #expect(codes.allSatisfy { $0 == "too_large" }, "\(codes)")
        #expect(budget.used == 0)
        let ordinary = start(scheduler, job("ordinary", width: 1000, height: 1000))
        await gate.waitUntilStarted(1)
        gate.release("ordinary")
        #expect(try await ordinary.value.image.width == 1)
        #expect(budget.used == 0)
    }
}
