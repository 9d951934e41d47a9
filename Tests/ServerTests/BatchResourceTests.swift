import CalotypeApp
import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Scheduler
import TestSupport
import Testing

@testable import Server

/// A backend whose jobs run until they are cancelled, as a long libvips job
/// stopped by its kill switch does; it says when each job starts.
final class StoppableBackend: ImageBackend {
    let name = "stoppable"
    let kind = BackendKind.cpu
    let supportedOperations = Set(OperationKind.allCases)
    let starts = AsyncStream.makeStream(of: Void.self)

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        starts.continuation.yield()
        // Held, not timed: only cancellation ends it.
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
        throw ProcessingError(.cancelled, "stopped")
    }

    func waitForStart() async {
        for await _ in starts.stream { return }
    }
}

/// A live server over one lane of `backend`, one item of a batch at a time.
func withFakeServer(
    _ backend: some ImageBackend,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, Scheduler) async throws -> Void
) async throws {
    // Fake backends hold jobs for as long as a test needs, however slow the
    // machine (a sanitizer's run took 82 s over one test): a deadline no test
    // reaches, not the default 10 s that would end a held job first.
    let scheduler = Scheduler(lanes: [.init(backend: backend, workers: 1, prior: (1, 0))], configuration: .init(jobTimeout: .seconds(600)))
    var configuration = ServerConfiguration()
    configuration.port = 0
    configuration.logLevel = .warning  // no line per request in the test output
    let results = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-batches-\(UUID().uuidString)")
    configuration.resultsDirectory = results
    // Removed after the server is gone, whatever the test did.
    defer { try? FileManager.default.removeItem(at: results) }
    configure(&configuration)
    let application = try await CalotypeServer(scheduler: scheduler, configuration: configuration).makeApplication()
    try await application.test(.live) { client in try await body(client, scheduler) }
}

@Suite("Batches as resources", .timeLimit(.minutes(2)))
struct BatchResourceTests {
    static func fakeBody(_ count: Int) -> MultipartBody {
        var body = MultipartBody()
        for index in 0..<count { body.addFile("files", filename: "item\(index).png", Array("not decoded by the fake".utf8)) }
        return body
    }

    func post(_ body: MultipartBody, query: String = "", client: any TestClientProtocol) async throws -> APIBatchCreated {
        try await client.execute(uri: "/batches\(query)", method: .post, headers: body.headers, body: body.body) { response in
            #expect(response.status == .accepted)
            let created = try decode(APIBatchCreated.self, response.body)
            #expect(response.headers[.location] == created.statusURL)
            #expect(created.statusURL == "/batches/\(created.batchID)" && created.eventsURL == "/batches/\(created.batchID)/events")
            return created
        }
    }

    func events(_ url: String, lastEventID: Int? = nil, client: any TestClientProtocol) async throws -> [EventStreamParser.Event] {
        var headers: HTTPFields = [:]
        if let lastEventID { headers[.lastEventID] = String(lastEventID) }
        return try await client.execute(uri: url, method: .get, headers: headers) { response in
            #expect(response.status == .ok && response.headers[.contentType] == "text/event-stream")
            return EventStreamParser.parse(String(buffer: response.body), chunkSize: 7).events
        }
    }

    func status(_ url: String, client: any TestClientProtocol) async throws -> APIBatchStatus {
        try await client.execute(uri: url, method: .get) { response in
            #expect(response.status == .ok)
            return try decode(APIBatchStatus.self, response.body)
        }
    }

    @Test func aPostedBatchRunsAndItsEventsAndStatusCanBeRead() async throws {
        try await withServer { client, _ in
            let body = try MultipartBody.files(BatchEndpointTests.names)
            let created = try await post(body, query: "?width=60&format=png", client: client)
            #expect(created.total == 5 && created.status == .running)

            let events = try await events(created.eventsURL, client: client)
            BatchEndpointTests().checkContract(events, total: 5, failed: 1)
            #expect(events.map(\.id) == (1...events.count).map { String($0) }, "ids count up from 1 without gaps")

            let status = try await status(created.statusURL, client: client)
            #expect(status.status == .completed && status.total == 5 && status.completed == 5)
            #expect(status.succeeded == 4 && status.failed == 1 && status.cancelled == 0)
            #expect(status.results.map(\.index) == [0, 1, 2, 3, 4])
            #expect(status.results.map(\.filename) == BatchEndpointTests.names)
            #expect(status.results[1].error?.code == .unsupportedFormat)
            #expect(status.lastEventID == events.count && status.durationMs != nil)
            let url = try #require(status.results[0].url)
            try await client.execute(uri: url, method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/png")
            }

            // Reading it again gives the same events, and one who has seen them all is told there are no more.
            #expect(try await self.events(created.eventsURL, client: client) == events)
            try await client.execute(uri: created.eventsURL, method: .get, headers: [.lastEventID: String(events.count)]) { response in
                #expect(response.status == .noContent)
            }
        }
    }

    @Test func aReconnectResumesFromLastEventIDWithoutLosingOrRepeatingEvents() async throws {
        let backend = HeldBackend()
        try await withFakeServer(backend) { client, _ in
            let created = try await post(Self.fakeBody(3), client: client)
            await backend.waitUntilStarted()

            // A browser reads what has happened so far, then its connection drops mid-batch.
            let connection = try TCPConnection(port: try #require(client.port))
            await connection.send(Array("GET \(created.eventsURL) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            var text = await connection.read(until: #""stage":"started""#)
            text += await connection.read(until: "\n\n")
            connection.close()
            #expect(text.hasPrefix("HTTP/1.1 200"))
            let body = try #require(text.range(of: "\r\n\r\n")).upperBound
            let seen = EventStreamParser.parse(String(text[body...])).events
            let lastSeen = try #require(seen.last?.id.flatMap(Int.init))
            #expect(seen.count == 4 && seen.last?.json["stage"] as? String == "started", "three queued, one started")

            // It reconnects with the last id it saw (as EventSource does) while the batch goes on.
            async let rest = events(created.eventsURL, lastEventID: lastSeen, client: client)
            backend.open()
            let resumed = try await rest

            let all = try await events(created.eventsURL, client: client)
            #expect(seen + resumed == all)
            // Clients that cannot set the header say the same in the query.
            #expect(try await events("\(created.eventsURL)?last_event_id=\(lastSeen)", client: client) == resumed)
            #expect(all.map(\.id) == (1...all.count).map { String($0) })
            BatchEndpointTests().checkContract(all, total: 3, failed: 0)
        }
    }

    @Test func deleteCancelsWhatHasNotRun() async throws {
        let backend = StoppableBackend()
        try await withFakeServer(backend) { client, scheduler in
            let created = try await post(Self.fakeBody(3), client: client)
            await backend.waitForStart()
            // A listener on its own connection, following the batch when it is deleted.
            let listener = try TCPConnection(port: try #require(client.port))
            defer { listener.close() }
            await listener.send(Array("GET \(created.eventsURL) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            _ = await listener.read(until: "event: progress")

            let status = try await client.execute(uri: created.statusURL, method: .delete) { response in
                #expect(response.status == .ok)
                return try decode(APIBatchStatus.self, response.body)
            }
            #expect(status.status == .cancelled && status.cancelled == 3 && status.succeeded == 0 && status.failed == 0)
            #expect(status.results.map { $0.error?.code } == [.cancelled, .cancelled, .cancelled])

            // Listeners still learn how every item ended, and the batch's end.
            var parser = EventStreamParser()
            parser.feed(await listener.read(until: "event: complete"))
            parser.feed(await listener.read(until: "\n\n"))
            let events = parser.events
            #expect(
                events.filter { $0.type == "error" }.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8))) as? [String: Any] }
                    .compactMap { $0["index"] as? Int }.sorted() == [0, 1, 2]
            )
            #expect(events.last?.type == "complete")
            // Deleted: the batch is forgotten.
            try await client.execute(uri: created.statusURL, method: .get) { #expect($0.status == .notFound) }
            #expect(await scheduler.statistics().lanes[0].running == 0)
            try await client.execute(uri: "/stats", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let endpoint = (json?["endpoints"] as? [String: Any])?["/batches"] as? [String: Any]
                #expect(endpoint?["cancelled"] as? Int == 3 && endpoint?["requests"] as? Int == 1)
            }
        }
    }

    @Test func tooManyRunningBatchesAreRefusedUntilOneEnds() async throws {
        let backend = StoppableBackend()
        try await withFakeServer(backend, configure: { $0.maxRunningBatches = 1 }) { client, _ in
            let first = try await post(Self.fakeBody(1), client: client)
            await backend.waitForStart()
            let body = Self.fakeBody(1)
            try await client.execute(uri: "/batches", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] != nil)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "overloaded")
            }
            try await client.execute(uri: first.statusURL, method: .delete) { #expect($0.status == .ok) }
            _ = try await post(Self.fakeBody(1), client: client)
        }
    }

    /// Every batch endpoint posts to the same host; a batch that answers
    /// the request that posted it is not one of `/batches`' resources: it
    /// takes no place under `CALOTYPE_MAX_BATCHES` and is gone once answered.
    @Test func aRequestsOwnBatchIsNotAResourceAndIsForgottenOnceAnswered() async throws {
        let backend = HeldBackend()
        try await withFakeServer(backend, configure: { $0.maxRunningBatches = 1 }) { client, _ in
            defer { backend.open() }
            let posted = try await post(Self.fakeBody(1), client: client)
            await backend.waitUntilStarted()
            // The one place for resources is taken; a request's own batch is still taken.
            let body = Self.fakeBody(2)
            async let answered = client.execute(uri: "/process-batch?inline=true", method: .post, headers: body.headers, body: body.body) {
                response in
                #expect(response.status == .ok)
                return try decode(APIBatchSummary.self, response.body)
            }
            backend.open()
            let summary = try await answered
            #expect(summary.total == 2 && summary.succeeded == 2)
            #expect(summary.results?.map(\.data) == [Data([1, 2, 3]).base64EncodedString(), Data([1, 2, 3]).base64EncodedString()])
            try await client.execute(uri: "/batches/\(summary.batchID)", method: .get) { #expect($0.status == .notFound) }
            // The resource is kept with its results.
            let status = try await client.execute(uri: posted.statusURL, method: .get) { response in
                try decode(APIBatchStatus.self, response.body)
            }
            #expect(status.total == 1 && status.results.count <= 1)
        }
    }

    /// A streamed answer with `inline=true` carries each result's bytes in
    /// its `result` event (its log keeps them only until they are sent).
    @Test func aStreamedInlineAnswerCarriesEachResult() async throws {
        let backend = HeldBackend()
        backend.open()
        try await withFakeServer(backend) { client, _ in
            let body = Self.fakeBody(3)
            let events = try await client.execute(uri: "/process-batch-stream?inline=true", method: .post, headers: body.headers, body: body.body) {
                response in
                #expect(response.status == .ok)
                return EventStreamParser.parse(String(buffer: response.body)).events
            }
            let results = events.filter { $0.type == "result" }
            #expect(results.count == 3)
            #expect(results.allSatisfy { $0.json["data"] as? String == Data([1, 2, 3]).base64EncodedString() }, "\(results)")
            #expect(events.last?.type == "complete")
        }
    }

    @Test func unknownBatchesAndBadLastEventIDsAreClearErrors() async throws {
        let backend = HeldBackend()
        try await withFakeServer(backend) { client, _ in
            defer { backend.open() }
            for (uri, method) in [("/batches/nope", HTTPRequest.Method.get), ("/batches/nope/events", .get), ("/batches/nope", .delete)] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound)
                    let error = try decode(ErrorBody.self, response.body)
                    #expect(error.error.code == "not_found")
                }
            }
            let created = try await post(Self.fakeBody(1), client: client)
            for malformed in ["yesterday", "", "-1", "99999999999999999999999"] {
                try await client.execute(uri: created.eventsURL, method: .get, headers: [.lastEventID: malformed]) { response in
                    #expect(response.status == .badRequest, "Last-Event-ID: '\(malformed)'")
                    let error = try decode(ErrorBody.self, response.body)
                    #expect(error.error.code == "invalid_last_event_id")
                }
            }
            // An id from the future (the batch is held: it has sent 2 events at most) would skip events.
            try await client.execute(uri: created.eventsURL + "?last_event_id=99", method: .get) { response in
                #expect(response.status == .conflict)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "invalid_last_event_id" && error.error.message.contains("99"))
            }
            try await client.execute(uri: "/batches", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "hi")) {
                response in
                #expect(response.status == .unsupportedMediaType)
            }
            let body = Self.fakeBody(1)
            try await client.execute(uri: "/batches?inline=true", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .badRequest)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "inline_unavailable")
            }
        }
    }
}
