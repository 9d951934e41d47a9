import CalotypeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Scheduler
import ServiceLifecycle
import ServiceLifecycleTestKit
import TestSupport
import Testing

@testable import Server

/// Stands in for the engine, first in the group so that it stops last: it
/// notes what it finds when its turn to stop comes.
struct LastToStop: Service {
    let atStop: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await atStop()
    }
}

@Suite("Graceful shutdown, in process", .timeLimit(.minutes(3)))
struct ShutdownTests {
    /// A shutdown that begins while a posted batch runs: the batch is let
    /// finish (not cancelled), and only then does the engine's turn come.
    @Test func aPostedBatchDrainsBeforeTheEngineStops() async throws {
        let backend = HeldBackend()
        let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 1, prior: (1, 0))], configuration: .init(jobTimeout: .seconds(600)))
        var configuration = Self.configuration()
        configuration.shutdownGrace = .seconds(50)
        let server = CalotypeServer(scheduler: scheduler, configuration: configuration)

        let batchID = NIOLockedValueBox<String?>(nil)
        let seenAtEngineStop = NIOLockedValueBox<APIBatchStatus?>(nil)
        let ports = AsyncStream.makeStream(of: Int.self)
        let engine = LastToStop {
            guard let id = batchID.withLockedValue({ $0 }), let batch = await server.batches.batch(id) else { return }
            seenAtEngineStop.withLockedValue { $0 = batch.snapshot(paths: BatchPaths(id: id)) }
        }
        let services = [engine] + (try await server.services { port in ports.continuation.yield(port) })

        try await Self.run(services, ports: ports.stream) { trigger, port in
            var body = MultipartBody()
            for index in 0..<3 { body.addFile("files", filename: "item\(index).png", Array("held".utf8)) }
            let created = try await Self.post(body, to: "/batches", port: port)
            batchID.withLockedValue { $0 = created.batchID }
            await backend.waitUntilStarted()

            trigger.triggerGracefulShutdown()
            backend.open()
        }
        let status = try #require(seenAtEngineStop.withLockedValue { $0 })
        #expect(status.status == .completed && status.succeeded == 3 && status.cancelled == 0)
    }

    /// A shutdown turns `/ready` 503 before anything else stops: here a
    /// service stopped first (where a cluster node's work goes) holds the
    /// shutdown while the HTTP server still answers.
    @Test func readinessTurnsUnreadyFirstInAShutdown() async throws {
        let scheduler = Scheduler(lanes: [.init(backend: HeldBackend(), workers: 1, prior: (1, 0))], configuration: .init(jobTimeout: .seconds(600)))
        let server = CalotypeServer(scheduler: scheduler, configuration: Self.configuration())
        let ports = AsyncStream.makeStream(of: Int.self)
        let (stopping, stoppingNow) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseNow) = AsyncStream.makeStream(of: Void.self)
        let holder = HoldsItsStop(stopping: stoppingNow, release: release)
        let services = try await server.services(stoppedFirst: [holder]) { port in ports.continuation.yield(port) }

        try await Self.run(services, ports: ports.stream) { trigger, port in
            #expect(await Self.get("/ready", port: port).hasPrefix("HTTP/1.1 200"))
            trigger.triggerGracefulShutdown()
            for await _ in stopping { break }
            let answer = await Self.get("/ready", port: port)
            #expect(answer.hasPrefix("HTTP/1.1 503") && answer.contains(#""reason":"draining""#), "draining: \(answer)")
            #expect(await Self.get("/health", port: port).hasPrefix("HTTP/1.1 200"), "still alive")
            releaseNow.yield()
        }
    }

    /// A server for these tests: a free port, results in a folder of its own.
    static func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning  // no line per request in the test output
        configuration.resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-shutdown-\(UUID().uuidString)")
        return configuration
    }

    /// Runs `services` in a service group until `body` (given the shutdown
    /// trigger and the bound port) has triggered their shutdown and they
    /// have all stopped.
    static func run(
        _ services: [any Service],
        ports: AsyncStream<Int>,
        _ body: @escaping @Sendable (GracefulShutdownTestTrigger, Int) async throws -> Void
    ) async throws {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await ServiceGroup(services: services, logger: Logger(label: "calotype-test")).run()
                }
                var port = 0
                for await bound in ports {
                    port = bound
                    break
                }
                try await body(trigger, port)
                try await group.waitForAll()
            }
        }
    }

    /// A GET over a plain connection: the whole answer.
    static func get(_ path: String, port: Int) async -> String {
        guard let connection = try? TCPConnection(port: port) else { return "" }
        defer { connection.close() }
        await connection.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        return await connection.read(until: "\u{0}never")
    }

    /// POSTs a multipart body over a plain connection and decodes the answer.
    static func post(_ body: MultipartBody, to path: String, port: Int) async throws -> APIBatchCreated {
        let connection = try TCPConnection(port: port)
        defer { connection.close() }
        let bytes = Array(body.body.readableBytesView)
        let head =
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(body.headers[.contentType] ?? "")\r\n"
            + "Content-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        await connection.send(Array(head.utf8) + bytes)
        let answer = await connection.read(until: "\u{0}never")
        let json = try #require(answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) })
        return try APIJSON.decode(APIBatchCreated.self, from: Data(json.utf8))
    }
}

/// Stopped first: says so, then holds the shutdown until released.
struct HoldsItsStop: Service {
    let stopping: AsyncStream<Void>.Continuation
    let release: AsyncStream<Void>

    func run() async throws {
        try? await gracefulShutdown()
        stopping.yield()
        for await _ in release { break }
    }
}
