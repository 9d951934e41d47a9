import CalotypeApp
import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Scheduler
import Server
import Testing

/// A backend whose jobs each wait until the test lets the next one go, and
/// which records the order they started in: a test reads start order, not
/// time, so the machine's speed cannot change its answer.
final class SteppedBackend: ImageBackend, Sendable {
    let name = "stepped"
    let kind = BackendKind.cpu
    let supportedOperations = Set(OperationKind.allCases)

    private struct State {
        var started: [String] = []
        var held: [String: CheckedContinuation<Void, Never>] = [:]
        var waiters: [(count: Int, resume: CheckedContinuation<Void, Never>)] = []
    }

    private let state = NIOLockedValueBox(State())

    var started: [String] { state.withLockedValue { $0.started } }

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        let name = input.name ?? ""
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.started.append(name)
                state.held[name] = continuation
                let count = state.started.count
                defer { state.waiters.removeAll { $0.count <= count } }
                return state.waiters.filter { $0.count <= count }.map(\.resume)
            }
            for waiter in ready { waiter.resume() }
        }
        return ProcessedImage(bytes: [1, 2, 3], format: .png, width: 1, height: 1, sourceFormat: .png, backend: name, timings: StageTimings())
    }

    func waitUntilStarted(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool in
                if state.started.count >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Lets the job that started `index`-th (from 0) finish.
    func release(startedAt index: Int) {
        let continuation = state.withLockedValue { state in state.held.removeValue(forKey: state.started[index]) }
        continuation?.resume()
    }
}

/// The scheduler's `queued` events by input name, awaitable.
final class QueuedInputs: Sendable {
    private let state = NIOLockedValueBox((names: Set<String>(), waiters: [(String, CheckedContinuation<Void, Never>)]()))

    var observer: @Sendable (Scheduler.Event) -> Void {
        { [self] event in
            guard event.kind == .queued, let name = event.input else { return }
            let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.names.insert(name)
                defer { state.waiters.removeAll { $0.0 == name } }
                return state.waiters.filter { $0.0 == name }.map(\.1)
            }
            for waiter in ready { waiter.resume() }
        }
    }

    func waitFor(_ name: String) async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool in
                if state.names.contains(name) { return true }
                state.waiters.append((name, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// Two tenants on one node: one posts a 500-item batch, the other single
/// images meanwhile. The second's images wait for the jobs already running,
/// never for the batch's queued items.
@Suite("Tenants share a node", .timeLimit(.minutes(3)))
struct TenantShareTests {
    @Test func aTenantsSingleImagesWaitForAtMostTheRunningJobWhileAnotherPostsFiveHundredItems() async throws {
        let bulk = try NewAPIKey(name: "bulk", scopes: ["batches"])
        let web = try NewAPIKey(name: "web", scopes: ["process"])
        let keys = try APIKeys(json: Data(#"{"keys": [\#(bulk.entry), \#(web.entry)]}"#.utf8))
        let backend = SteppedBackend()
        let queued = QueuedInputs()
        // One worker; held jobs get a deadline no loaded machine reaches.
        let scheduler = Scheduler(
            lanes: [.init(backend: backend, workers: 1, prior: (1, 0))],
            configuration: .init(jobTimeout: .seconds(600)),
            observer: queued.observer
        )
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning
        configuration.resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-tenants-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: configuration.resultsDirectory) }
        configuration.apiKeys = keys
        configuration.maxFilesPerBatch = 500
        configuration.maxWorkers = 8  // 8 items in flight: one runs, the others wait in the lane's queue
        let application = try await CalotypeServer(scheduler: scheduler, configuration: configuration).makeApplication()
        try await application.test(.live) { client in
            var body = MultipartBody()
            for index in 0..<500 { body.addFile("files", filename: "bulk\(index).png", Array("not decoded by the fake".utf8)) }
            let created = try await client.execute(
                uri: "/batches",
                method: .post,
                headers: [.authorization: "Bearer \(bulk.key)"] + body.headers,
                body: body.body
            ) { response in
                #expect(response.status == .accepted)
                return try decode(APIBatchCreated.self, response.body)
            }
            var released = 0
            func releaseNext() async {
                await backend.waitUntilStarted(released + 1)
                backend.release(startedAt: released)
                released += 1
            }
            var waits: [Int] = []
            for round in 0..<5 {
                for _ in 0..<(10 + round * 20) { await releaseNext() }
                // The bulk items started so far, with the one running.
                await backend.waitUntilStarted(released + 1)
                let startedBefore = backend.started.count
                let name = "web\(round).png"
                var upload = MultipartBody()
                upload.addFile("file", filename: name, Array("not decoded by the fake".utf8))
                let image = upload
                let single = Task {
                    try await client.execute(
                        uri: "/process",
                        method: .post,
                        headers: [.authorization: "Bearer \(web.key)"] + image.headers,
                        body: image.body
                    ) {
                        $0.status
                    }
                }
                // Nothing is released until it waits in the queue behind the batch's items.
                await queued.waitFor(name)
                // Go on in start order until the single has started.
                while !backend.started.contains(name) { await releaseNext() }
                let position = try #require(backend.started.firstIndex(of: name))
                waits.append(position - startedBefore)
                await releaseNext()
                #expect(try await single.value == .ok)
            }
            // Only the job running when it arrived went first: it started next.
            #expect(waits == [0, 0, 0, 0, 0], "bulk items started ahead of each single image: \(waits)")
            while released < 505 { await releaseNext() }
            let status = try await client.execute(uri: created.statusURL, method: .get, headers: [.authorization: "Bearer \(bulk.key)"]) {
                try decode(APIBatchStatus.self, $0.body)
            }
            #expect(status.total == 500)
        }
    }
}
