import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Scheduler
import Server
import TestSupport
import Testing

/// Jobs held on several fake lanes, counted together: how many run at once
/// over every lane, and the most that ever did.
final class SharedGate: Sendable {
    private struct State {
        var running = 0
        var mostAtOnce = 0
        var open = false
        var held: [CheckedContinuation<Void, Never>] = []
        var waiters: [(count: Int, resume: CheckedContinuation<Void, Never>)] = []
    }

    private let state = NIOLockedValueBox(State())

    var mostAtOnce: Int { state.withLockedValue { $0.mostAtOnce } }

    func enter() async {
        await withCheckedContinuation { continuation in
            let (ready, passes) = state.withLockedValue { state -> ([CheckedContinuation<Void, Never>], Bool) in
                state.running += 1
                state.mostAtOnce = max(state.mostAtOnce, state.running)
                let running = state.running
                let ready = state.waiters.filter { $0.count <= running }.map(\.resume)
                state.waiters.removeAll { $0.count <= running }
                if !state.open { state.held.append(continuation) }
                return (ready, state.open)
            }
            for waiter in ready { waiter.resume() }
            if passes { continuation.resume() }
        }
        state.withLockedValue { $0.running -= 1 }
    }

    /// Returns once `count` jobs are running at the same time.
    func waitUntilRunning(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool in
                if state.running >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let held = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.held = [] }
            return state.held
        }
        for waiter in held { waiter.resume() }
    }
}

/// A lane of a given kind whose jobs pass through a shared gate.
struct GatedBackend: ImageBackend {
    let name: String
    let kind: BackendKind
    let gate: SharedGate
    let supportedOperations = Set(OperationKind.allCases)

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        await gate.enter()
        return ProcessedImage(bytes: [1, 2, 3], format: .png, width: 1, height: 1, sourceFormat: .png, backend: name, timings: StageTimings())
    }
}

@Suite("Batch parallelism counts every lane", .timeLimit(.minutes(3)))
struct BatchParallelismTests {
    /// With a GPU lane beside the CPU lane, `/process-batch-fast` keeps
    /// every worker of both busy: 2 CPU + 3 GPU workers run 5 items at once,
    /// never more. (Counting the CPU workers alone, as the server once did,
    /// it ran 2 and this test waited for 5 until its time limit.)
    @Test func processBatchFastRunsAsManyItemsAsAllLanesHaveWorkers() async throws {
        let gate = SharedGate()
        let scheduler = Scheduler(
            lanes: [
                .init(backend: GatedBackend(name: "cpu-fake", kind: .cpu, gate: gate), workers: 2, prior: (1, 0)),
                .init(backend: GatedBackend(name: "gpu-fake", kind: .gpu, gate: gate), workers: 3, prior: (1, 0)),
            ],
            configuration: .init(jobTimeout: .seconds(600))
        )  // held jobs: a deadline no loaded machine reaches
        #expect(scheduler.defaultBatchParallelism == 5)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning  // no line per request in the test output
        configuration.resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-lanes-\(UUID().uuidString)")
        let application = try await CalotypeServer(scheduler: scheduler, configuration: configuration).makeApplication()
        var body = MultipartBody()
        for index in 0..<12 { body.addFile("files", filename: "item\(index).png", Array("not decoded by the fakes".utf8)) }
        let upload = body
        try await application.test(.live) { client in
            async let answer = client.execute(
                uri: "/process-batch-fast",
                method: .post,
                headers: upload.headers,
                body: upload.body
            ) { response in (response.status, String(buffer: response.body)) }
            await gate.waitUntilRunning(5)
            gate.open()
            let (status, stream) = try await answer
            #expect(status == .ok)
            let events = EventStreamParser.parse(stream, chunkSize: 64).events
            let summary = try #require(events.last { $0.type == "complete" })
            let complete = try APIJSON.decode(APIBatchSummary.self, from: Data(summary.data.utf8))
            #expect(complete.total == 12 && complete.succeeded == 12)
        }
        #expect(gate.mostAtOnce == 5)
    }
}
