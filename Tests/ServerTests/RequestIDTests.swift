import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Scheduler
import Server
import Testing

/// Log lines kept in memory, with their metadata.
final class CapturedLogs: Sendable {
    struct Line: Sendable {
        let message: String
        let metadata: [String: String]
    }

    private let lines = NIOLockedValueBox<[Line]>([])
    var all: [Line] { lines.withLockedValue { $0 } }

    func append(_ line: Line) { lines.withLockedValue { $0.append(line) } }

    var logger: Logger {
        Logger(label: "calotype-test") { _ in Handler(logs: self) }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            logs.append(Line(message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}

@Suite("Request ids", .timeLimit(.minutes(3)))
struct RequestIDTests {
    static let header = HTTPField.Name("X-Request-ID")!

    @Test func aSensibleIdIsKeptAndEveryOtherReplaced() async throws {
        try await withServer { client, _ in
            let given = "edge-4f1c9a_7.2"
            let kept = try await client.execute(uri: "/health", method: .get, headers: [Self.header: given]) { $0.headers[Self.header] }
            #expect(kept == given)
            for unusable in [String(repeating: "a", count: 129), "two words", "quote\"d", ""] {
                let replaced = try await client.execute(uri: "/health", method: .get, headers: [Self.header: unusable]) { $0.headers[Self.header] }
                #expect(replaced?.wholeMatch(of: /[0-9a-f]{32}/) != nil, "'\(unusable)' gave \(replaced ?? "no id")")
            }
            let fresh = try await client.execute(uri: "/health", method: .get) { $0.headers[Self.header] }
            let another = try await client.execute(uri: "/health", method: .get) { $0.headers[Self.header] }
            #expect(fresh?.wholeMatch(of: /[0-9a-f]{32}/) != nil && fresh != another)
        }
    }

    @Test func errorAnswersCarryTheirIdToo() async throws {
        try await withServer { client, _ in
            for (path, method, status) in [
                ("/nowhere", HTTPRequest.Method.get, HTTPResponse.Status.notFound), ("/health", .delete, .methodNotAllowed),
            ] {
                let id = try await client.execute(uri: path, method: method, headers: [Self.header: "probe-\(status.code)"]) { response in
                    #expect(response.status == status)
                    return response.headers[Self.header]
                }
                #expect(id == "probe-\(status.code)")
            }
        }
    }

    /// Every line a request logs carries its id: here the request log line.
    @Test func theRequestsLogLinesCarryItsId() async throws {
        let logs = CapturedLogs()
        let scheduler = Scheduler(lanes: [])
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.resultsDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-ids-\(UUID().uuidString)")
        let application = try await CalotypeServer(scheduler: scheduler, configuration: configuration).makeApplication(logger: logs.logger)
        try await application.test(.live) { client in
            _ = try await client.execute(uri: "/health", method: .get, headers: [Self.header: "trace-me-1"]) { $0.status }
        }
        let lines = logs.all.filter { $0.metadata["hb.request.path"] == "/health" }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.metadata["request_id"] == "trace-me-1" }, "\(lines.map(\.metadata))")
    }
}
