import CalotypeApp
import CalotypeCore
import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Scheduler
import Server
import Testing

enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: folder.appendingPathComponent(name)))
    }
}

/// Runs `body` against a live server on loopback, on a fresh engine.
func withServer(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    engine engineConfiguration: Engine.Configuration = .init(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600))),
    _ body: @escaping @Sendable (any TestClientProtocol, Engine) async throws -> Void
) async throws {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.logLevel = .warning  // no line per request in the test output
    let (results, saved) = (
        FileManager.default.temporaryDirectory.appendingPathComponent("calotype-test-results-\(UUID().uuidString)"),
        FileManager.default.temporaryDirectory.appendingPathComponent("calotype-test-saved-\(UUID().uuidString)")
    )
    (configuration.resultsDirectory, configuration.saveDirectory) = (results, saved)
    // Removed once the server is gone, whatever the test did (a test that
    // configures its own folders removes those).
    defer { for folder in [results, saved] { try? FileManager.default.removeItem(at: folder) } }
    configure(&configuration)
    let engine = try await Engine.start(engineConfiguration)
    let application = try await CalotypeServer(engine: engine, configuration: configuration).makeApplication()
    do {
        // As `services()` runs it: Hummingbird's metrics into the engine's registry.
        try await withMetricsFactory(engine.telemetry.metrics) {
            try await application.test(.live) { client in try await body(client, engine) }
        }
    } catch {
        await engine.shutdown()
        throw error
    }
    await engine.shutdown()
}

/// A `multipart/form-data` body, as browsers and curl send it.
struct MultipartBody {
    let boundary = "calotype-test-\(UUID().uuidString)"
    private(set) var bytes: [UInt8] = []

    mutating func addFile(_ field: String, filename: String, contentType: String = "application/octet-stream", _ data: [UInt8]) {
        bytes += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n"
                .utf8
        )
        bytes += data + Array("\r\n".utf8)
    }

    mutating func addField(_ field: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"\r\n\r\n\(value)\r\n".utf8)
    }

    var body: ByteBuffer { ByteBuffer(bytes: bytes + Array("--\(boundary)--\r\n".utf8)) }
    var headers: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }

    static func files(_ names: [String], field: String = "files") throws -> MultipartBody {
        var body = MultipartBody()
        for name in names { body.addFile(field, filename: name, try Fixtures.bytes(name)) }
        return body
    }
}

/// The `{"error":{"code","message"}}` body.
struct ErrorBody: Decodable {
    struct Detail: Decodable {
        let code: String
        let message: String
    }
    let error: Detail
}

func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
}

/// A WHATWG-conformant event stream parser, fed chunk by chunk, so tests
/// can split the stream anywhere.
struct EventStreamParser {
    struct Event: Equatable {
        var id: String?
        var type: String
        var data: String
    }

    private var pending = ""
    private var data: [String] = []
    private var type = ""
    private var lastID: String?
    private(set) var events: [Event] = []
    private(set) var comments: [String] = []

    mutating func feed(_ chunk: String) {
        pending += chunk
        while let end = pending.firstIndex(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            // A CR at the very end may be the first half of a CRLF split across chunks.
            if pending[end] == "\r", pending.index(after: end) == pending.endIndex { break }
            let line = String(pending[..<end])
            pending = String(pending[pending.index(after: end)...])
            process(line)
        }
    }

    private mutating func process(_ line: String) {
        if line.isEmpty {
            if !data.isEmpty {
                events.append(Event(id: lastID, type: type.isEmpty ? "message" : type, data: data.joined(separator: "\n")))
            }
            data = []
            type = ""
            return
        }
        if line.hasPrefix(":") {
            comments.append(String(line.dropFirst()).trimmingCharacters(in: .whitespaces))
            return
        }
        let field: String
        var value: String
        if let colon = line.firstIndex(of: ":") {
            field = String(line[..<colon])
            value = String(line[line.index(after: colon)...])
            if value.hasPrefix(" ") { value.removeFirst() }
        } else {
            field = line
            value = ""
        }
        switch field {
        case "data": data.append(value)
        case "event": type = value
        case "id" where !value.contains("\0"): lastID = value
        default: break
        }
    }

    /// Parses a whole body, fed in pieces of `chunkSize` characters.
    static func parse(_ text: String, chunkSize: Int = .max) -> EventStreamParser {
        var parser = EventStreamParser()
        var rest = Substring(text)
        while !rest.isEmpty {
            parser.feed(String(rest.prefix(chunkSize)))
            rest = rest.dropFirst(chunkSize)
        }
        return parser
    }
}

extension EventStreamParser.Event {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
    }
}
