import CalotypeApp
import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import Testing

/// `calotype serve`'s whole start, composed in the composition root and run
/// in process: settings, engine, server, services, a graceful stop.
@Suite("serve, in process", .timeLimit(.minutes(2)))
struct ServeInProcessTests {
    @Test func itStartsServesAndStops() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = Settings(environment: [
            "CALOTYPE_PORT": "0", "CALOTYPE_GPU": "off", "CALOTYPE_CPU_WORKERS": "1", "CALOTYPE_LOG_LEVEL": "warning",
            "CALOTYPE_RESULTS_DIR": folder.appendingPathComponent("results").path,
        ])
        let serve = try Serve(settings: settings)
        #expect(serve.server.port == 0 && serve.engine.cpuWorkers == 1)
        let (ports, announce) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "serve-test")
        let services = try await serve.services(logger: logger) { _, port in announce.yield(port) }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var listening = ports.makeAsyncIterator()
            let port = try #require(await listening.next())
            let connection = try TCPConnection(port: port)
            defer { connection.close() }
            await connection.send(Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            let answer = await connection.read(until: "\u{0}never")
            #expect(statusCode(of: answer) == 200 && answer.contains(#""status":"ok""#), "\(answer)")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func aBadSettingIsASettingsFailureThatNamesIt() throws {
        #expect {
            try Serve(settings: Settings(environment: ["CALOTYPE_PORT": "eighty"]))
        } throws: { error in
            guard case Serve.Failure.settings(let failure) = error else { return false }
            return failure.variable == "CALOTYPE_PORT"
        }
    }
}
