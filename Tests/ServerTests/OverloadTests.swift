import CalotypeApp
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

/// A backend that holds every job until the test opens it.
final class HeldBackend: ImageBackend {
    let name = "held"
    let kind = BackendKind.cpu
    let supportedOperations = Set(OperationKind.allCases)
    private let state = NIOLockedValueBox(
        (open: false, started: 0, held: [CheckedContinuation<Void, Never>](), startWaiters: [CheckedContinuation<Void, Never>]())
    )

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        await withCheckedContinuation { continuation in
            let (resumeNow, started) = state.withLockedValue { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.started += 1
                let started = state.startWaiters
                state.startWaiters = []
                if state.open { return (true, started) }
                state.held.append(continuation)
                return (false, started)
            }
            for waiter in started { waiter.resume() }
            if resumeNow { continuation.resume() }
        }
        return ProcessedImage(bytes: [1, 2, 3], format: .png, width: 1, height: 1, sourceFormat: .png, backend: name, timings: StageTimings())
    }

    func waitUntilStarted() async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool in
                if state.started > 0 { return true }
                state.startWaiters.append(continuation)
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

@Suite("Overload", .timeLimit(.minutes(3)))
struct OverloadTests {
    @Test func aFullServerAnswers503WithRetryAfter() async throws {
        let backend = HeldBackend()
        // The held job waits for the test, however slow the machine is (a
        // sanitizer's run beside the cluster suites took over 10 s here):
        // the default 10 s deadline would answer it 504 first.
        let scheduler = Scheduler(
            lanes: [.init(backend: backend, workers: 1, prior: (1.5, 0))],
            configuration: .init(queueLimit: 0, jobTimeout: .seconds(600))
        )
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning  // no line per request in the test output
        configuration.resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-overload-\(UUID().uuidString)")
        let application = try await CalotypeServer(scheduler: scheduler, configuration: configuration).makeApplication()
        try await application.test(.live) { client in
            var body = MultipartBody()
            body.addFile("file", filename: "a.png", Array("not decoded by the fake".utf8))
            // The first request takes the only worker and is held there.
            let first = try TCPConnection(port: try #require(client.port))
            let payload = Array(body.body.readableBytesView)
            await first.send(
                Array(
                    "POST /process HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(body.boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                        .utf8
                ) + payload
            )
            await backend.waitUntilStarted()

            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2", "1.5 s of work ahead, rounded up")
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "overloaded")
            }
            backend.open()
            #expect(await first.read(until: "X-Calotype-Backend").contains("200 OK"))
            first.close()
            try await client.execute(uri: "/stats", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let endpoint = (json?["endpoints"] as? [String: Any])?["/process"] as? [String: Any]
                #expect(endpoint?["rejections"] as? Int == 1)
            }
        }
    }
}
