import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Scheduler
import TestSupport
import Testing

@testable import Server

@Suite("HTTP API on a live server", .timeLimit(.minutes(2)))
struct ServerTests {
    @Test func healthSaysOKAndListsTheBackends() async throws {
        try await withServer { client, _ in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                #expect(json["status"] as? String == "ok")
                #expect(json["version"] as? String == CalotypeServer.version)
                #expect(json["parallel_enabled"] as? Bool == true)
                let backends = try #require(json["backends"] as? [[String: Any]])
                #expect(backends.first?["name"] as? String == "libvips" && backends.first?["workers"] as? Int == 2)
                #expect(backends.first?.keys.contains("quarantined_until") == true)
            }
        }
    }

    @Test func processAnswersWithTheImageAndItsHeaders() async throws {
        try await withServer { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            try await client.execute(uri: "/process?width=100&format=webp&quality=70", method: .post, headers: body.headers, body: body.body) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "image/webp")
                #expect(response.headers[HTTPField.Name("X-Calotype-Backend")!] == "libvips")
                #expect(response.headers[HTTPField.Name("X-Calotype-Fallback")!] == "false")
                #expect(response.headers[HTTPField.Name("X-Calotype-Width")!] == "100")
                #expect(response.headers[HTTPField.Name("X-Calotype-Height")!] == "75")
                #expect(Double(response.headers[HTTPField.Name("X-Calotype-Duration-Ms")!] ?? "") != nil)
                #expect(ImageSize.sniff(Array(buffer: response.body)) == ImageSize(width: 100, height: 75))
            }
        }
    }

    @Test func processTakesARawImageBodyAndAJSONRecipeField() async throws {
        try await withServer { client, _ in
            try await client.execute(
                uri: "/process?width=40&format=png",
                method: .post,
                headers: [.contentType: "image/jpeg"],
                body: ByteBuffer(bytes: try Fixtures.bytes("photo.jpg"))
            ) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                #expect(ImageSize.sniff(Array(buffer: response.body)) == ImageSize(width: 40, height: 30))
            }
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            body.addField("recipe", #"{"ops":[{"op":"rotate","angle":90},{"op":"resize","width":30}],"format":"png"}"#)
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .ok)
                #expect(ImageSize.sniff(Array(buffer: response.body)) == ImageSize(width: 30, height: 40))
            }
        }
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let uri: String
        let file: String?
        let field: String
        let contentType: String?
        let status: HTTPResponse.Status
        let code: String
        var testDescription: String { "\(code) for \(file ?? "nothing") at \(uri)" }
    }

    static let refusals: [Refusal] = [
        .init(uri: "/process?width=0", file: "photo.jpg", field: "file", contentType: nil, status: .badRequest, code: "invalid_recipe"),
        .init(uri: "/process?widht=10", file: "photo.jpg", field: "file", contentType: nil, status: .badRequest, code: "invalid_recipe"),
        .init(uri: "/process?backend=tpu", file: "photo.jpg", field: "file", contentType: nil, status: .badRequest, code: "invalid_backend"),
        .init(uri: "/process", file: "document.pdf", field: "file", contentType: nil, status: .unsupportedMediaType, code: "unsupported_format"),
        .init(uri: "/process", file: "matrix.mat", field: "file", contentType: nil, status: .unsupportedMediaType, code: "unsupported_format"),
        .init(uri: "/process?width=10", file: "huge-header.png", field: "file", contentType: nil, status: .contentTooLarge, code: "image_too_large"),
        .init(uri: "/process", file: "photo.jpg", field: "upload", contentType: nil, status: .badRequest, code: "no_files"),
        .init(uri: "/process", file: nil, field: "file", contentType: "text/plain", status: .unsupportedMediaType, code: "unsupported_media_type"),
        .init(uri: "/process-batch", file: nil, field: "files", contentType: nil, status: .badRequest, code: "no_files"),
        .init(
            uri: "/process?width=10&height=10&fit=cover&gravity=upward",
            file: "photo.jpg",
            field: "file",
            contentType: nil,
            status: .badRequest,
            code: "invalid_recipe"
        ),
    ]

    @Test(arguments: refusals)
    func badRequestsGetAJSONErrorNamingWhatIsWrong(_ refusal: Refusal) async throws {
        try await withServer { client, _ in
            var body = MultipartBody()
            if let file = refusal.file { body.addFile(refusal.field, filename: file, try Fixtures.bytes(file)) }
            let headers: HTTPFields = refusal.contentType.map { [.contentType: $0] } ?? body.headers
            try await client.execute(uri: refusal.uri, method: .post, headers: headers, body: body.body) { response in
                #expect(response.status == refusal.status)
                #expect(response.headers[.contentType] == "application/json")
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == refusal.code)
                #expect(!error.error.message.isEmpty)
            }
        }
    }

    /// 5,000 flips once overflowed a worker's stack (libvips tears a chain
    /// down recursively) and killed the server: now a 400 naming the limit,
    /// and the server goes on serving.
    @Test func aRecipeLongerThanTheLimitIsRefusedAndTheServerServesOn() async throws {
        try await withServer { client, _ in
            func flips(_ count: Int) -> String {
                #"{"ops":[\#(Array(repeating: #"{"op":"flip","direction":"horizontal"}"#, count: count).joined(separator: ","))]}"#
            }
            for recipe in [flips(5000), flips(17)] {
                var body = MultipartBody()
                body.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
                body.addField("recipe", recipe)
                try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                    #expect(response.status == .badRequest)
                    let error = try decode(ErrorBody.self, response.body)
                    #expect(error.error.code == "invalid_recipe")
                    #expect(error.error.message.contains("at most"), "got: \(error.error.message)")
                }
            }
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            let sixteen = Array(repeating: #"{"op":"flip","direction":"vertical"}"#, count: 16).joined(separator: ",")
            body.addField("recipe", #"{"ops":[\#(sixteen)],"format":"png"}"#)
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .ok, "16 operations, the default limit, still run")
            }
        }
    }

    @Test func aTruncatedImageIsACorruptImage() async throws {
        try await withServer { client, _ in
            let photo = try Fixtures.bytes("photo.jpg")
            var body = MultipartBody()
            body.addFile("file", filename: "cut.jpg", Array(photo.prefix(photo.count / 2)))
            try await client.execute(uri: "/process?width=50", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .unprocessableContent)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "corrupt_image")
            }
        }
    }

    @Test func bodiesOverTheLimitAreRefused() async throws {
        try await withServer(configure: { $0.maxBodyBytes = 4096 }) { client, _ in
            let body = try MultipartBody.files(["photo.jpg"], field: "file")
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .contentTooLarge)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "payload_too_large")
            }
        }
    }

    /// A single image cannot be bigger than the engine's image limit, so its
    /// body is refused from Content-Length, before it is read, where a batch
    /// body of the same size is taken.
    @Test func aSingleImageBodyBeyondTheImageLimitIsRefusedUpFront() async throws {
        let limits = ImageLimits(maxBytes: 4096)
        try await withServer(engine: .init(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(600)), limits: limits, useGPU: false)) { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "big.jpg", Array(repeating: 0xAB, count: 200_000))
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .contentTooLarge)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "payload_too_large" && error.error.message.contains("limit is \(4096 + 128 * 1024)"))
            }
            var batch = MultipartBody()
            batch.addFile("files", filename: "big.jpg", Array(repeating: 0xAB, count: 200_000))
            try await client.execute(uri: "/process-batch", method: .post, headers: batch.headers, body: batch.body) { response in
                #expect(response.status == .ok)  // read, and the item refused on its own
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(json?["failed"] as? Int == 1)
            }
        }
    }

    @Test func tooManyFilesAreRefused() async throws {
        try await withServer(configure: { $0.maxFilesPerBatch = 2 }) { client, _ in
            let body = try MultipartBody.files(["photo.jpg", "alpha.png", "photo.webp"])
            try await client.execute(uri: "/process-batch", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .contentTooLarge)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "too_many_files")
            }
        }
    }
}

@Suite("Batches on a live server", .timeLimit(.minutes(2)))
struct BatchEndpointTests {
    static let names = ["photo.jpg", "document.pdf", "alpha.png", "exif-rotated.jpg", "photo.webp"]

    @Test func processBatchAnswersInInputOrderAndABadItemFailsAlone() async throws {
        try await withServer { client, _ in
            let body = try MultipartBody.files(Self.names)
            let answer = try await client.execute(
                uri: "/process-batch?width=60&format=png&inline=true",
                method: .post,
                headers: body.headers,
                body: body.body
            ) { response in
                #expect(response.status == .ok)
                return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
            }
            #expect(answer["total"] as? Int == 5 && answer["succeeded"] as? Int == 4 && answer["failed"] as? Int == 1)
            let results = try #require(answer["results"] as? [[String: Any]])
            #expect(results.map { $0["index"] as? Int } == [0, 1, 2, 3, 4])
            #expect(results.map { $0["filename"] as? String } == Self.names)
            #expect(results[1]["status"] as? String == "error")
            #expect((results[1]["error"] as? [String: Any])?["code"] as? String == "unsupported_format")
            let first = results[0]
            #expect(first["status"] as? String == "ok" && first["backend"] as? String == "libvips" && first["fallback"] as? Bool == false)
            #expect(first["width"] as? Int == 60 && first["height"] as? Int == 45 && first["format"] as? String == "png")
            let inline = try #require(Data(base64Encoded: first["data"] as? String ?? ""))
            #expect(inline.count == first["bytes"] as? Int)
            let url = try #require(first["url"] as? String)
            try await client.execute(uri: url, method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                #expect(Data(buffer: response.body) == inline)
            }
            try await client.execute(uri: "/results/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "not_found")
            }
        }
    }

    func stream(_ endpoint: String, _ names: [String], client: any TestClientProtocol) async throws -> String {
        let body = try MultipartBody.files(names)
        return try await client.execute(uri: "\(endpoint)?width=60&format=jpeg", method: .post, headers: body.headers, body: body.body) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            return String(buffer: response.body)
        }
    }

    /// What every stream must satisfy: one result or error per item, complete last, ids increasing.
    func checkContract(_ events: [EventStreamParser.Event], total: Int, failed: Int) {
        #expect(events.last?.type == "complete")
        #expect(events.filter { $0.type == "complete" }.count == 1)
        let outcomes = events.filter { $0.type == "result" || $0.type == "error" }
        #expect(outcomes.count == total)
        #expect(Set(outcomes.compactMap { $0.json["index"] as? Int }) == Set(0..<total))
        #expect(events.filter { $0.type == "error" }.count == failed)
        let ids = events.compactMap { $0.id.flatMap(Int.init) }
        #expect(ids.count == events.count && ids == ids.sorted() && Set(ids).count == ids.count)
        let complete = events.last?.json ?? [:]
        #expect(complete["total"] as? Int == total && complete["failed"] as? Int == failed && complete["succeeded"] as? Int == total - failed)
        for index in 0..<total {
            let stages = events.filter { $0.type == "progress" && $0.json["index"] as? Int == index }.compactMap { $0.json["stage"] as? String }
            #expect(stages == ["queued", "started", "done"] || stages == ["queued", "done"], "item \(index): \(stages)")
        }
    }

    @Test(arguments: [1, 7, 64, Int.max])
    func processBatchStreamIsSequentialAndKeepsTheContract(chunkSize: Int) async throws {
        try await withServer { client, _ in
            let text = try await stream("/process-batch-stream", Self.names, client: client)
            let events = EventStreamParser.parse(text, chunkSize: chunkSize).events
            checkContract(events, total: 5, failed: 1)
            // One after another: an item starts only after the one before it is done.
            let markers = events.filter { $0.type == "progress" && ($0.json["stage"] as? String) != "queued" }
                .map { "\($0.json["stage"] as? String ?? "")\($0.json["index"] as? Int ?? -1)" }
            #expect(markers == ["started0", "done0", "started1", "done1", "started2", "done2", "started3", "done3", "started4", "done4"])
        }
    }

    @Test func processBatchFastOverlapsItems() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 3) }
        try await withServer { client, _ in
            var body = MultipartBody()
            for index in 0..<8 { body.addFile("files[]", filename: "synthetic\(index).jpg", photo) }
            let text = try await client.execute(
                uri: "/process-batch-fast?width=400&format=jpeg",
                method: .post,
                headers: body.headers,
                body: body.body
            ) { response in
                String(buffer: response.body)
            }
            let events = EventStreamParser.parse(text).events
            checkContract(events, total: 8, failed: 0)
            // Parallel: some item starts before an earlier-started one is done.
            var running = 0
            var mostRunning = 0
            for event in events where event.type == "progress" {
                switch event.json["stage"] as? String {
                case "started": running += 1
                case "done": running -= 1
                default: break
                }
                mostRunning = max(mostRunning, running)
            }
            #expect(mostRunning == 2, "MAX_WORKERS defaults to the CPU workers")
        }
    }

    @Test func processBatchFastIsRefusedWhenParallelIsDisabled() async throws {
        try await withServer(configure: { $0.parallelEnabled = false }) { client, _ in
            let body = try MultipartBody.files(["photo.jpg"])
            try await client.execute(uri: "/process-batch-fast", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .forbidden)
                let error = try decode(ErrorBody.self, response.body)
                #expect(error.error.code == "parallel_disabled")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(json?["parallel_enabled"] as? Bool == false)
            }
        }
    }

    @Test func processAndSaveWritesSanitisedNamesWithoutOverwriting() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-save-\(UUID().uuidString)")
        try await withServer(configure: { $0.saveDirectory = folder }) { client, _ in
            var body = MultipartBody()
            body.addFile("files", filename: "../../etc/pass wd.jpg", try Fixtures.bytes("photo.jpg"))
            body.addFile("files", filename: "pass wd.jpg", try Fixtures.bytes("photo.webp"))
            try await client.execute(uri: "/process-and-save?width=20&format=png", method: .post, headers: body.headers, body: body.body) {
                response in
                #expect(response.status == .ok)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let saved = ((json?["results"] as? [[String: Any]]) ?? []).compactMap { $0["saved_to"] as? String }
                #expect(saved.count == 2)
                #expect(Set(saved.map { URL(fileURLWithPath: $0).lastPathComponent }) == ["pass_wd.png", "pass_wd-1.png"])
                #expect(saved.allSatisfy { $0.hasPrefix(folder.path) })
            }
        }
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(written == ["pass_wd-1.png", "pass_wd.png"])
    }

    /// Each request is counted once, by the route it matched and its
    /// answer, and `/stats` reads the very counters `/metrics` renders.
    @Test func statsReadWhatMetricsRender() async throws {
        try await withServer { client, _ in
            let photo = try Fixtures.bytes("photo.jpg")
            for (query, bytes, status) in [
                ("width=20", photo, HTTPResponse.Status.ok),
                ("width=0", photo, .badRequest),
                ("width=50", Array(photo.prefix(photo.count / 2)), .unprocessableContent),
            ] {
                var body = MultipartBody()
                body.addFile("file", filename: "photo.jpg", bytes)
                try await client.execute(uri: "/process?\(query)", method: .post, headers: body.headers, body: body.body) { response in
                    #expect(response.status == status)
                }
            }
            let batch = try MultipartBody.files(Self.names)
            try await client.execute(uri: "/process-batch?width=10", method: .post, headers: batch.headers, body: batch.body) { _ in }
            let stats = try await client.execute(uri: "/stats", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                return (json?["endpoints"] as? [String: [String: Int]]) ?? [:]
            }
            #expect(stats["/process"] == ["requests": 3, "images": 2, "failures": 1, "rejections": 1, "cancelled": 0])
            #expect(stats["/process-batch"] == ["requests": 1, "images": 5, "failures": 1, "rejections": 0, "cancelled": 0])
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let lines = Set(metrics.split(separator: "\n").map(String.init))
            let names = [
                "requests": "calotype_http_requests_total", "images": "calotype_images_total", "failures": "calotype_image_failures_total",
                "rejections": "calotype_rejections_total", "cancelled": "calotype_batch_items_cancelled_total",
            ]
            for (endpoint, counts) in stats {
                for (field, value) in counts where value > 0 {
                    let name = try #require(names[field])
                    #expect(lines.contains("\(name){endpoint=\"\(endpoint)\"} \(value)"), "\(field) of \(endpoint)")
                }
            }
        }
    }

    @Test func statsCountRequestsImagesAndFailuresPerEndpoint() async throws {
        try await withServer { client, _ in
            let body = try MultipartBody.files(Self.names)
            try await client.execute(uri: "/process-batch?width=10", method: .post, headers: body.headers, body: body.body) { _ in }
            try await client.execute(uri: "/stats", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let endpoint = (json?["endpoints"] as? [String: Any])?["/process-batch"] as? [String: Any]
                #expect(endpoint?["requests"] as? Int == 1 && endpoint?["images"] as? Int == 5 && endpoint?["failures"] as? Int == 1)
                let lanes = (json?["scheduler"] as? [String: Any])?["lanes"] as? [[String: Any]]
                #expect(lanes?.first?["completed"] as? Int == 4)
            }
        }
    }
}

@Suite("Wire formats")
struct WireFormatTests {
    @Test func eventsEncodeToTheStandardFormat() {
        var parser = EventStreamParser()
        parser.feed(ServerSentEvent(id: "7", event: "result", data: "line one\nline two").encoded)
        parser.feed(ServerSentEvent.comment("keep-alive"))
        parser.feed(ServerSentEvent(id: "8", event: "complete", data: "{}").encoded)
        #expect(
            parser.events == [
                .init(id: "7", type: "result", data: "line one\nline two"),
                .init(id: "8", type: "complete", data: "{}"),
            ]
        )
        #expect(parser.comments == ["keep-alive"])
    }

    @Test func multipartKeepsFilenamesAndBinaryBytes() throws {
        var body = MultipartBody()
        let binary: [UInt8] = [0x0D, 0x0A, 0x2D, 0x2D, 0x0D, 0x00, 0xFF, 0x0D, 0x0A]
        body.addFile("files", filename: "a \\\"quoted\\\" name.jpg", contentType: "image/jpeg", binary)
        body.addField("recipe", "{}")
        let parts = try Multipart.parse(body.body, boundary: body.boundary)
        #expect(parts.count == 2)
        #expect(parts[0].name == "files" && parts[0].filename == "a \"quoted\" name.jpg" && parts[0].contentType == "image/jpeg")
        #expect(Array(parts[0].body) == binary)
        #expect(parts[1].name == "recipe" && parts[1].filename == nil && Array(parts[1].body) == Array("{}".utf8))
    }

    @Test func multipartPartsAreReadWhereTheyArrivedAndOutliveTheBody() throws {
        var body = MultipartBody()
        let first = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let second = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        body.addFile("files", filename: "a.jpg", contentType: "image/jpeg", first)
        body.addFile("files", filename: "b.jpg", contentType: "image/jpeg", second)
        // A body of its own, so that dropping it drops the last reference
        // but the parts' (AddressSanitizer would see a read of freed memory).
        var buffer: ByteBuffer? = ByteBuffer(bytes: Array(buffer: body.body))
        let received = try #require(buffer).withUnsafeReadableBytes {
            UInt(bitPattern: $0.baseAddress)..<UInt(bitPattern: $0.baseAddress! + $0.count)
        }
        let parts = try Multipart.parse(try #require(buffer), boundary: body.boundary)
        // Each part lies inside the body that arrived: no copy of it was made.
        for part in parts {
            let start = part.body.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
            #expect(received.contains(start) && received.contains(start + UInt(part.body.count) - 1))
        }
        buffer = nil
        #expect(Array(parts[0].body) == first && Array(parts[1].body) == second)
    }

    @Test func malformedMultipartIsAnError() {
        let boundary = "xyz"
        let unterminated = ByteBuffer(string: "--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc")
        #expect(throws: Multipart.Failure.self) { try Multipart.parse(unterminated, boundary: boundary) }
        #expect(throws: Multipart.Failure.self) { try Multipart.parse(ByteBuffer(string: "no boundary here"), boundary: boundary) }
        #expect(Multipart.boundary(of: "multipart/form-data; boundary=\"abc def\"") == "abc def")
        #expect(Multipart.boundary(of: "application/json") == nil)
    }

    @Test func savedNamesAreSanitised() {
        #expect(ResultSaver.sanitisedStem("../../etc/passwd.jpg") == "passwd")
        #expect(ResultSaver.sanitisedStem("...hidden.png") == "hidden")
        #expect(ResultSaver.sanitisedStem("weird name!?.jpeg") == "weird_name__")
        #expect(ResultSaver.sanitisedStem(nil) == "image")
        #expect(ResultSaver.sanitisedStem(String(repeating: "a", count: 300) + ".jpg").count == 100)
    }
}

@Suite("Health with an OpenCL lane (PoCL)", .timeLimit(.minutes(2)))
struct GPUHealthTests {
    @Test func healthListsTheDeviceAndItsSelfCheck() async throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-server-tests-cache")
        let engine = Engine.Configuration(
            cpuWorkers: 1,
            gpuWorkers: 1,
            scheduler: .init(jobTimeout: .seconds(600)),
            openCL: .init(allowCPUDevices: true, cacheDirectory: cache)
        )
        try await withServer(engine: engine) { client, engine in
            #expect(engine.gpus.count == 1)
            try await client.execute(uri: "/health", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let backends = (json?["backends"] as? [[String: Any]]) ?? []
                #expect(backends.map { $0["kind"] as? String } == ["cpu", "gpu"])
                #expect((backends.last?["self_check"] as? String)?.hasPrefix("passed") == true)
                #expect(backends.first?["self_check"] == nil)
            }
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            try await client.execute(uri: "/process?width=100&blur=1&backend=gpu&format=png", method: .post, headers: body.headers, body: body.body) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Calotype-Backend")!] == "opencl:0")
                #expect(response.headers[HTTPField.Name("X-Calotype-Fallback")!] == "false")
            }
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func dotEnvFilesParseLikeShells() {
        let values = DotEnv.parse(
            """
            # a comment
            CALOTYPE_PORT=9000
            export ENABLE_PARALLEL=false
            CALOTYPE_SAVE_DIR="/tmp/with space"
            MAX_WORKERS=3 # trailing comment
            not a line
            """
        )
        #expect(values == ["CALOTYPE_PORT": "9000", "ENABLE_PARALLEL": "false", "CALOTYPE_SAVE_DIR": "/tmp/with space", "MAX_WORKERS": "3"])
    }

    @Test func theEnvironmentConfiguresTheServer() throws {
        let configuration = try ServerConfiguration.fromEnvironment([
            "CALOTYPE_PORT": "9000", "ENABLE_PARALLEL": "false", "MAX_WORKERS": "3", "CALOTYPE_MAX_FILES": "5",
        ])
        #expect(configuration.port == 9000 && !configuration.parallelEnabled && configuration.maxWorkers == 3 && configuration.maxFilesPerBatch == 5)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.fromEnvironment(["ENABLE_PARALLEL": "maybe"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.fromEnvironment(["CALOTYPE_PORT": "99999"]) }
    }

    /// ThreadSanitizer cannot see `Synchronization.Mutex` on Linux (its futex
    /// is not intercepted) and reports every state it guards as raced, which
    /// would bury real races; shared state is guarded by NIO's pthread lock.
    @Test func sharedStateUsesALockThreadSanitizerSees() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for folder in ["Sources", "Tests"] {
            let files =
                FileManager.default.enumerator(at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                let lock = "Mutex"  // spelled apart so that this file does not match itself
                let uses = try Regex("[=:]\\s*\(lock)\\s*[<(]")
                #expect(text.firstMatch(of: uses) == nil, "\(file.lastPathComponent): use NIOLockedValueBox")
            }
        }
    }

    @Test func everySettingIsInEnvExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = try String(contentsOf: root.appendingPathComponent("env.example"), encoding: .utf8)
        let files =
            FileManager.default.enumerator(at: root.appendingPathComponent("Sources"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        let sources = try files.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        let pattern = try Regex(#""((?:CALOTYPE_|ENABLE_|MAX_|MALLOC_|GLIBC_)[A-Z_]+)""#)
        let variables = Set(sources.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) })
        #expect(variables.count >= 10)
        for variable in variables {
            #expect(example.contains(variable), "\(variable) is not in env.example")
        }
    }
}

@Suite("Metrics", .timeLimit(.minutes(2)))
struct MetricsTests {
    @Test func metricsAreInThePrometheusTextFormat() async throws {
        try await withServer { client, _ in
            let body = try MultipartBody.files(["photo.jpg", "document.pdf", "alpha.png"])
            try await client.execute(uri: "/process-batch?width=20", method: .post, headers: body.headers, body: body.body) { _ in }
            let text = try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            let lines = text.split(separator: "\n").map(String.init)
            #expect(lines.contains("calotype_http_requests_total{endpoint=\"/process-batch\"} 1"))
            #expect(lines.contains("calotype_images_total{endpoint=\"/process-batch\"} 3"))
            #expect(lines.contains("calotype_image_failures_total{endpoint=\"/process-batch\"} 1"))
            #expect(lines.contains("calotype_jobs_total{lane=\"libvips\",outcome=\"completed\"} 2"))
            #expect(lines.contains { $0.hasPrefix("calotype_queue_depth{lane=\"libvips\",kind=\"cpu\"} 0") })
            #expect(lines.contains("calotype_job_service_seconds_count{lane=\"libvips\"} 2"))
            // Every sample line is `name{labels} value`, and the buckets only grow.
            for line in lines where !line.hasPrefix("#") {
                #expect(line.wholeMatch(of: /[a-z_]+(\{[^}]*\})? [0-9.e+-]+/) != nil, "\(line)")
            }
            let buckets = lines.filter { $0.hasPrefix("calotype_job_service_seconds_bucket{lane=\"libvips\"") }
                .compactMap { Int($0.split(separator: " ").last ?? "") }
            #expect(buckets.count == Histogram.bounds.count + 1 && buckets == buckets.sorted() && buckets.last == 2)
        }
    }

    /// The names, types and labels /metrics had before it was rendered by
    /// swift-prometheus, which dashboards are built on: all still there.
    @Test func todaysMetricNamesAndLabelsStay() async throws {
        try await withServer { client, _ in
            let body = try MultipartBody.files(["photo.jpg", "document.pdf"])
            try await client.execute(uri: "/process-batch?width=20", method: .post, headers: body.headers, body: body.body) { _ in }
            try await client.execute(uri: "/process?width=0", method: .post, headers: body.headers, body: body.body) { _ in }
            let text = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let families: [(name: String, type: String, labels: [String])] = [
                ("calotype_http_requests_total", "counter", ["endpoint"]),
                ("calotype_images_total", "counter", ["endpoint"]),
                ("calotype_image_failures_total", "counter", ["endpoint"]),
                ("calotype_rejections_total", "counter", ["endpoint"]),
                ("calotype_batch_items_cancelled_total", "counter", ["endpoint"]),
                ("calotype_queue_depth", "gauge", ["lane", "kind"]),
                ("calotype_in_flight", "gauge", ["lane", "kind"]),
                ("calotype_workers", "gauge", ["lane", "kind"]),
                ("calotype_lane_healthy", "gauge", ["lane", "kind"]),
                ("calotype_lane_busy_seconds_total", "counter", ["lane", "kind"]),
                ("calotype_jobs_total", "counter", ["lane", "outcome"]),
                ("calotype_memory_budget_bytes", "gauge", []),
                ("calotype_memory_held_bytes", "gauge", []),
                ("calotype_job_service_seconds", "histogram", ["lane"]),
                ("calotype_job_queue_wait_seconds", "histogram", ["lane"]),
            ]
            let lines = text.split(separator: "\n").map(String.init)
            for family in families {
                #expect(lines.contains("# TYPE \(family.name) \(family.type)"), "\(family.name) is not a \(family.type)")
                let sample = family.type == "histogram" ? "\(family.name)_count" : family.name
                let series = lines.first { $0.hasPrefix(sample + "{") || $0.hasPrefix(sample + " ") }
                let labels =
                    series.flatMap { line in
                        line.firstRange(of: "{").map { start in
                            line[start.upperBound...].prefix { $0 != "}" }.split(separator: ",").map { String($0.prefix { $0 != "=" }) }
                        }
                    } ?? []
                #expect(series != nil && labels == family.labels, "\(family.name): \(series ?? "no series")")
            }
            // Hummingbird's HTTP metrics are recorded into the same registry.
            #expect(lines.contains("# TYPE hb_requests counter"))
        }
    }
}

@Suite("OpenAPI document", .timeLimit(.minutes(2)))
struct OpenAPITests {
    @Test func everyDocumentedOperationIsServed() async throws {
        try await withServer { client, engine in
            let document = try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "application/json")
                return try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            // The document describes exactly the router's own routes: the
            // console's style and script are the page's parts, not API, and
            // `/img/**` is written with the parts a signed URL has.
            let routed = Set(
                CalotypeServer(engine: engine, configuration: ServerConfiguration()).makeRouter().routes
                    .filter { $0.method != .head }
                    .map {
                        "\($0.method.rawValue) \($0.path.description.replacingOccurrences(of: "/img/**", with: "/img/{signature}/{options}/{source}"))"
                    }
            )
            let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
            #expect(routed.subtracting(["GET /console.css", "GET /console.js"]) == documented, "\(routed.symmetricDifference(documented).sorted())")
            for (path, operations) in paths {
                for method in operations.keys {
                    let uri = path.replacingOccurrences(of: "{id}", with: "unknown").replacingOccurrences(of: "{signature}", with: "insecure")
                        .replacingOccurrences(of: "{options}", with: "w:10").replacingOccurrences(of: "{source}", with: "plain/x")
                    let verb = try #require(HTTPRequest.Method(method.uppercased()))
                    try await client.execute(uri: uri, method: verb) { response in
                        // Served: a real answer or a JSON refusal, never the router's plain 404.
                        if response.status == .notFound {
                            // `/cluster` is served by cluster nodes alone, and says so.
                            #expect(path.hasSuffix("{id}") || path.hasSuffix("{id}/events") || path == "/cluster", "\(method) \(path)")
                            #expect((try? decode(ErrorBody.self, response.body))?.error.code == "not_found", "\(method) \(path)")
                        }
                    }
                }
            }
        }
    }
}

@Suite("Web page", .timeLimit(.minutes(3)))
struct WebPageTests {
    @Test func theRootServesTheConsoleItsStyleAndItsScript() async throws {
        try await withServer { client, _ in
            var total = 0
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: response.body)
                total += html.utf8.count
                #expect(html.contains("<input id=\"files\" name=\"files\" type=\"file\""))
                #expect(html.contains("/process-batch-fast") && html.contains("/process-batch-stream") && html.contains("value=\"/batches\""))
                #expect(html.contains("<progress") && html.contains("/console.js") && html.contains("/console.css"))
            }
            try await client.execute(uri: "/console.js", method: .get) { response in
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                let script = String(buffer: response.body)
                total += script.utf8.count
                #expect(script.contains("readEventStream") && script.contains("new EventSource(") && script.contains("/openapi.json"))
            }
            try await client.execute(uri: "/console.css", method: .get) { response in
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                total += response.body.readableBytes
            }
            #expect(total < 100_000, "the console is \(total) bytes, under 100 KB")
        }
    }
}

@Suite("Error codes")
struct ErrorCodeTests {
    /// API_REFERENCE.md's table of error codes lists exactly the codes the
    /// vocabulary has, so neither can gain one the other lacks.
    @Test func theReferenceTableListsEveryCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let reference = try String(contentsOf: root.appendingPathComponent("API_REFERENCE.md"), encoding: .utf8)
        let table = try #require(reference.firstRange(of: "| code | status | when |").map { reference[$0.upperBound...] })
        let rows = table.split(separator: "\n").dropFirst().prefix { $0.hasPrefix("|") }
        let codes = rows.flatMap { row in
            (row.split(separator: "|").first ?? "").matches(of: /`([a-z_]+)`/).map { String($0.output.1) }
        }
        #expect(Set(codes) == Set(APIErrorCode.allCases.map(\.rawValue)))
        #expect(codes.count == Set(codes).count, "a code is listed twice")
    }
}
