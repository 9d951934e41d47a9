import AsyncHTTPClient
import CalotypeCore
import Foundation
import NIOCore
import Scheduler

/// The end-to-end modes, against a running `calotype serve`: the three batch
/// endpoints with every image in one request (multipart `files` parts, at
/// most `maxFilesPerRequest` per request), and `POST /process` one image per
/// request from a number of concurrent clients.
///
/// Times are the client's: latency is from sending a request to receiving
/// that image's result (its `result` event on the streams; the whole answer
/// for `/process-batch` and `/process`), time to first result from the start
/// of the round to the first result received.
struct HTTPModes {
    let baseURL: String
    let images: BenchImages
    /// The recipe and placement as a query string.
    let query: String
    /// The recipe as JSON, when the shorthand cannot say it.
    let recipeJSON: String?
    let clients: Int
    let backend: Placement
    let client: HTTPClient
    /// The server's default limits (`CALOTYPE_MAX_FILES`; `CALOTYPE_MAX_BODY_BYTES`,
    /// 100 MiB, less room for the multipart framing).
    static let maxFilesPerRequest = 100
    static let maxImageBytesPerRequest = 96 << 20
    static let timeout = TimeAmount.seconds(600)

    /// A client with a connection for every concurrent client, which fails
    /// at once when a connection is refused instead of retrying until the
    /// deadline (a benchmark should not hide a server that went away).
    /// Shut it down when done.
    static func makeClient(clients: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, clients + 1)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Checks that something answers `GET /health` at `url` and that it can serve.
    static func checkReachable(_ url: String, client: HTTPClient) async throws {
        let health = url + "/health"
        let response: HTTPClientResponse
        var request = HTTPClientRequest(url: health)
        request.method = .GET
        do {
            response = try await client.execute(request, timeout: .seconds(10))
        } catch {
            throw BenchError.unreachable(url: url, reason: Self.describe(error))
        }
        let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
        guard response.status.code == 200 else {
            throw BenchError.badResponse(endpoint: "GET /health", status: Int(response.status.code), body: body)
        }
    }

    /// A readable reason for a failed connection ("connection refused").
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") { return "the connection timed out" }
        if text.contains("invalidURL") || text.contains("emptyHost") || text.contains("emptyScheme") { return "not a valid http:// URL" }
        return text
    }

    func runners() -> [ModeRunner] {
        var runners: [ModeRunner] = []
        runners.append(processRunner(clients: 1, role: .sequential))
        if clients > 1 { runners.append(processRunner(clients: clients, role: .process)) }
        runners.append(batchRunner(endpoint: "/process-batch", role: .batch))
        runners.append(batchRunner(endpoint: "/process-batch-stream", role: .stream))
        runners.append(batchRunner(endpoint: "/process-batch-fast", role: .fast))
        return runners
    }

    private func url(_ endpoint: String) -> String { "\(baseURL)\(endpoint)?\(query)" }

    /// `POST /process`, one image per request, `clients` requests at a time.
    private func processRunner(clients: Int, role: BenchMode.Role) -> ModeRunner {
        let mode = BenchMode(kind: .http, role: role, backend: backend, inFlight: clients, endpoint: "/process", clients: clients)
        let bodies = images.images.map { MultipartBody(field: "file", images: [$0], recipeJSON: recipeJSON) }
        let buffers = bodies.map { ByteBuffer(bytes: $0.bytes) }
        let address = url("/process")
        let images = images.images
        let client = client
        return ModeRunner(mode: mode) { tick in
            let clock = ContinuousClock()
            let start = clock.now
            var sample = RoundSample()
            // A request that could not be made at all (the server gone) ends the round.
            var thrown: (any Error)?
            _ = await runSlidingWindow(over: Array(images.indices), width: clients) {
                index -> Result<(Result<(String?, Bool), BenchError>, Double), BenchError> in
                let sent = clock.now
                do {
                    let response = try await Self.post(buffers[index], contentType: bodies[index].contentType, to: address, client: client)
                    let body = try await response.body.collect(upTo: 256 << 20)
                    let latency = (clock.now - sent).secondsValue
                    guard response.status.code == 200 else {
                        let error = BenchError.badResponse(endpoint: "POST /process", status: Int(response.status.code), body: String(buffer: body))
                        return .success((.failure(error), latency))
                    }
                    let lane = response.headers.first(name: "X-Calotype-Backend")
                    let fallback = response.headers.first(name: "X-Calotype-Fallback") == "true"
                    return .success((.success((lane, fallback)), latency))
                } catch {
                    return .failure(.unreachable(url: address, reason: "\(error)"))
                }
            } finished: { index, answer in
                guard case .success(let (outcome, latency)) = answer else {
                    if case .failure(let error) = answer { thrown = error }
                    return false
                }
                switch outcome {
                case .success(let (lane, fallback)):
                    sample.recordSuccess(latency: latency, megapixels: images[index].megapixels, backend: lane, fallback: fallback)
                    sample.recordFirstResult(at: (clock.now - start).secondsValue)
                    tick(nil)
                case .failure(let error):
                    let message = "\(images[index].name): \(error)"
                    sample.recordFailure(message)
                    tick(message)
                }
                return true
            }
            if let thrown { throw thrown }
            sample.seconds = (clock.now - start).secondsValue
            return sample
        }
    }

    /// The images split, in order, into requests within the server's
    /// default limits on files and body size (an image over the size limit
    /// alone goes in a request of its own, for the server to refuse).
    static func requestChunks(_ images: [BenchImages.Image]) -> [[BenchImages.Image]] {
        var chunks: [[BenchImages.Image]] = []
        var chunk: [BenchImages.Image] = []
        var bytes = 0
        for image in images {
            if !chunk.isEmpty && (chunk.count == maxFilesPerRequest || bytes + image.bytes.count > maxImageBytesPerRequest) {
                chunks.append(chunk)
                (chunk, bytes) = ([], 0)
            }
            chunk.append(image)
            bytes += image.bytes.count
        }
        if !chunk.isEmpty { chunks.append(chunk) }
        return chunks
    }

    /// One of the batch endpoints, every image in one request (or in
    /// requests within the server's default limits, one after another).
    private func batchRunner(endpoint: String, role: BenchMode.Role) -> ModeRunner {
        let mode = BenchMode(kind: .http, role: role, backend: backend, endpoint: endpoint)
        let chunks = Self.requestChunks(images.images)
        let bodies = chunks.map { MultipartBody(field: "files", images: $0, recipeJSON: recipeJSON) }
        let buffers = bodies.map { ByteBuffer(bytes: $0.bytes) }
        let address = url(endpoint)
        let client = client
        return ModeRunner(mode: mode) { tick in
            let clock = ContinuousClock()
            let start = clock.now
            var sample = RoundSample()
            for (chunk, body) in zip(chunks, zip(bodies, buffers)) {
                let sent = clock.now
                let response = try await Self.post(body.1, contentType: body.0.contentType, to: address, client: client)
                guard response.status.code == 200 else {
                    let text = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
                    throw BenchError.badResponse(endpoint: "POST \(endpoint)", status: Int(response.status.code), body: text)
                }
                func name(_ index: Int) -> String {
                    chunk.indices.contains(index) ? chunk[index].name : "item \(index)"
                }
                func record(_ item: APIBatchItem) {
                    let now = clock.now
                    if item.status == .ok, chunk.indices.contains(item.index) {
                        sample.recordSuccess(
                            latency: (now - sent).secondsValue,
                            megapixels: chunk[item.index].megapixels,
                            backend: item.backend,
                            fallback: item.fallback ?? false
                        )
                        sample.recordFirstResult(at: (now - start).secondsValue)
                        tick(nil)
                    } else {
                        let error = item.error ?? APIErrorDetail(code: .internal, message: "failed without an error")
                        failed(item.index, error.code, error.message)
                    }
                }
                func failed(_ index: Int, _ code: APIErrorCode, _ message: String) {
                    let line = "\(name(index)): \(code.rawValue): \(message)"
                    sample.recordFailure(line)
                    tick(line)
                }
                let isStream = response.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") ?? false
                if isStream {
                    var reader = EventStreamReader()
                    streaming: for try await buffer in response.body {
                        for event in reader.feed(buffer.readableBytesView) {
                            if sample.firstEvent == nil { sample.firstEvent = (clock.now - start).secondsValue }
                            switch try Self.event(event, endpoint: endpoint) {
                            case .result(let item):
                                record(item)
                            case .error(let error):
                                failed(error.index, error.code, error.message)
                            case .complete:
                                break streaming
                            case .progress, nil:
                                continue
                            }
                        }
                    }
                } else {
                    let body = try await response.body.collect(upTo: 256 << 20)
                    let answer = try Self.decode(APIBatchSummary.self, String(buffer: body), endpoint: endpoint)
                    for item in answer.results ?? [] { record(item) }
                }
            }
            sample.seconds = (clock.now - start).secondsValue
            return sample
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String, endpoint: String) throws -> T {
        do {
            return try APIJSON.decode(type, from: Data(text.utf8))
        } catch {
            throw BenchError.badResponse(endpoint: "POST \(endpoint)", status: 200, body: "unreadable JSON (\(error)): \(text)")
        }
    }

    /// A stream's event as the API's type; nil for a name this version does not know.
    private static func event(_ event: EventStreamReader.Event, endpoint: String) throws -> APIBatchEvent? {
        do {
            return try APIBatchEvent(name: event.type, data: event.data)
        } catch {
            throw BenchError.badResponse(endpoint: "POST \(endpoint)", status: 200, body: "unreadable \(event.type) event (\(error)): \(event.data)")
        }
    }

    /// POSTs `body`; a transport failure (refused, reset, timed out) is the server being unreachable.
    static func post(_ body: ByteBuffer, contentType: String, to address: String, client: HTTPClient) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: address)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(body)
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw BenchError.unreachable(url: address, reason: describe(error))
        }
    }

}
