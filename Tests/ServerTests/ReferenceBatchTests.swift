import CalotypeApp
import CalotypeCore
import CalotypeS3
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing

/// Batches by reference: a JSON body names the sources, the server fetches
/// each as a worker becomes free and writes each result to the destination.
@Suite("Batches by reference", .serialized, .timeLimit(.minutes(3)))
struct ReferenceBatchTests {
    static func json(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    @Test func s3SourcesToAnS3DestinationWithOneMissingKey() async throws {
        let (s3, bucket, endpoint) = try await S3SaveTests.bucket()
        for name in ["photo.jpg", "alpha.png", "photo.webp"] {
            try await s3.put(bucket: bucket, key: "in/\(name)", bytes: try Fixtures.bytes(name), contentType: "application/octet-stream")
        }
        let sources = ["photo.jpg", "missing.jpg", "alpha.png", "photo.webp"].map { "s3://\(bucket)/in/\($0)" }
        try await ImageEndpointTests.withImageServer({ _ in
            [
                "CALOTYPE_ALLOWED_SOURCES": "s3://\(bucket)/in/", "CALOTYPE_ALLOWED_DESTINATIONS": "s3://\(bucket)/out/",
                "AWS_ENDPOINT_URL_S3": endpoint.absoluteString,
                "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID, "AWS_SECRET_ACCESS_KEY": SeaweedFS.secretAccessKey,
            ]
        }) { client, _, _ in
            let body = try Self.json(["sources": sources, "options": "width=40&format=webp", "destination": "s3://\(bucket)/out/thumbs"])
            let created = try await client.execute(uri: "/batches", method: .post, headers: Self.jsonHeaders, body: body) { response in
                #expect(response.status == .accepted)
                return try decode(APIBatchCreated.self, response.body)
            }
            #expect(created.total == 4)
            let events = try await client.execute(uri: created.eventsURL, method: .get) { EventStreamParser.parse(String(buffer: $0.body)).events }
            BatchEndpointTests().checkContract(events, total: 4, failed: 1)
            let status = try await client.execute(uri: created.statusURL, method: .get) { try decode(APIBatchStatus.self, $0.body) }
            #expect(status.succeeded == 3 && status.failed == 1)
            #expect(status.results.map(\.filename) == sources)
            #expect(status.results[1].error?.code == .sourceNotFound)
            for item in status.results where item.status == .ok {
                let saved = try #require(item.savedTo, "item \(item.index)")
                #expect(saved.hasPrefix("s3://\(bucket)/out/thumbs/\(created.batchID)/\(item.index)-") && saved.hasSuffix(".webp"))
                let stored = try await s3.get(bucket: bucket, key: String(saved.dropFirst("s3://\(bucket)/".count)), maxBytes: 1 << 20)
                let served = try await client.execute(uri: try #require(item.url), method: .get) { Array($0.body.readableBytesView) }
                #expect(stored.bytes == served)
            }
            // Each result event says where its result went.
            let savedInEvents = events.filter { $0.type == "result" }.compactMap { $0.json["saved_to"] as? String }
            #expect(Set(savedInEvents) == Set(status.results.compactMap(\.savedTo)))
            #expect(try await s3.list(bucket: bucket, prefix: "out/").objects.count == 3)
        }
    }

    /// Sources are fetched when a worker is free for them: one at a time on
    /// the sequential stream, at most the parallelism on the fast one.
    @Test(arguments: [("/process-batch-stream", 1), ("/process-batch-fast", 2)])
    func sourcesAreFetchedAsWorkersBecomeFree(endpoint: String, parallelism: Int) async throws {
        let counter = OriginCounter()
        try await ImageEndpointTests.withImageServer(counter: counter, configure: { $0.maxWorkers = parallelism }) { client, port, _ in
            let sources = (0..<8).map { "http://origin.test:\(port)/counted/\($0 % 2 == 0 ? "photo.jpg" : "alpha.png")" }
            let body = try Self.json(["sources": sources, "options": "width=30"])
            let events = try await client.execute(uri: endpoint, method: .post, headers: Self.jsonHeaders, body: body) { response in
                #expect(response.status == .ok)
                return EventStreamParser.parse(String(buffer: response.body)).events
            }
            BatchEndpointTests().checkContract(events, total: 8, failed: 0)
            #expect(counter.total == 8)
            #expect(counter.most <= parallelism, "\(counter.most) fetches at once")
        }
    }

    @Test func anHTTPSourceGivesTheBytesOfTheSameImageUploaded() async throws {
        try await ImageEndpointTests.withImageServer { client, port, _ in
            let body = try Self.json([
                "sources": ["http://origin.test:\(port)/images/photo.jpg", "http://origin.test:\(port)/missing"],
                "recipe": ["ops": [["op": "resize", "width": 50]], "format": "png"],
            ])
            let summary = try await client.execute(uri: "/process-batch", method: .post, headers: Self.jsonHeaders, body: body) { response in
                #expect(response.status == .ok)
                return try decode(APIBatchSummary.self, response.body)
            }
            let items = try #require(summary.results)
            #expect(summary.succeeded == 1 && items[1].error?.code == .sourceNotFound)
            let fetched = try await client.execute(uri: try #require(items[0].url), method: .get) { Array($0.body.readableBytesView) }
            let upload = try MultipartBody.files(["photo.jpg"], field: "file")
            let uploaded = try await client.execute(uri: "/process?width=50&format=png", method: .post, headers: upload.headers, body: upload.body) {
                Array($0.body.readableBytesView)
            }
            #expect(fetched == uploaded)
        }
    }

    @Test func aBatchThatCannotRunIsRefusedWholeBeforeAnyFetch() async throws {
        let counter = OriginCounter()
        try await ImageEndpointTests.withImageServer(counter: counter) { client, port, _ in
            let good = "http://origin.test:\(port)/counted/photo.jpg"
            let cases: [(body: String, query: String, status: HTTPResponse.Status, code: String)] = [
                (#"{"sources": []}"#, "", .badRequest, "no_files"),
                (try Self.text(["sources": Array(repeating: good, count: APIBatchRequest.maxSources + 1)]), "", .contentTooLarge, "too_many_files"),
                (try Self.text(["sources": [good, "http://elsewhere.test/a.jpg"]]), "", .forbidden, "source_not_allowed"),
                (try Self.text(["sources": [good, "gopher://origin.test/a"]]), "", .badRequest, "invalid_source"),
                (try Self.text(["sources": [good], "destination": "s3://out/"]), "", .forbidden, "destination_not_allowed"),
                (try Self.text(["sources": [good], "destinaton": "s3://out/"]), "", .badRequest, "invalid_batch"),
                (try Self.text(["sources": good]), "", .badRequest, "invalid_batch"),
                ("not json", "", .badRequest, "invalid_batch"),
                (try Self.text(["sources": [good], "options": "width=10", "recipe": ["ops": []]]), "", .badRequest, "invalid_recipe"),
                (try Self.text(["sources": [good], "options": "widht=10"]), "", .badRequest, "invalid_recipe"),
                (try Self.text(["sources": [good]]), "?width=10", .badRequest, "invalid_recipe"),
                (try Self.text(["sources": [good + "?" + String(repeating: "a", count: 9000)]]), "", .badRequest, "invalid_source"),
                (#"{"sources": [""# + String(repeating: " ", count: 17 << 20) + #""]}"#, "", .contentTooLarge, "payload_too_large"),
            ]
            for (body, query, status, code) in cases {
                try await client.execute(uri: "/batches\(query)", method: .post, headers: Self.jsonHeaders, body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == status, "\(body.prefix(80))")
                    #expect(ImageEndpointTests.errorCode(response) == code, "\(body.prefix(80))")
                }
            }
            #expect(counter.total == 0, "nothing was fetched")
            // The message says which source.
            try await client.execute(
                uri: "/batches",
                method: .post,
                headers: Self.jsonHeaders,
                body: ByteBuffer(string: try Self.text(["sources": [good, "http://elsewhere.test/a.jpg"]]))
            ) { response in
                #expect(String(buffer: response.body).contains("sources[1]"))
            }
        }
    }

    static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
