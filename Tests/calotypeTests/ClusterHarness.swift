import AsyncHTTPClient
import CalotypeCore
import CalotypeS3
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A cluster on this machine, as an operator runs one: a real PostgreSQL
/// (a database of its own), a bucket on a real S3 server (SeaweedFS), and
/// `calotype serve` nodes as separate processes on loopback.
struct ClusterHarness: Sendable {
    let databaseURL: String
    let bucket: String
    let s3: S3Client
    let endpoint: URL
    let folder: URL
    /// Seconds a claim lasts without a heartbeat.
    var lease = 3

    /// A cluster on a new database of `database` (the shared server unless given).
    static func make(database: PostgreSQLServer? = nil) async throws -> ClusterHarness {
        let postgres = if let database { database } else { try await PostgreSQLServer.shared() }
        let databaseURL = try await postgres.newDatabase() + "?sslmode=disable"
        let server = try await SeaweedFS.shared()
        let credentials = S3Credentials(accessKeyID: SeaweedFS.accessKeyID, secretAccessKey: SeaweedFS.secretAccessKey)
        let s3 = S3Client(configuration: .init(endpoint: server.endpoint, credentials: credentials), http: .shared)
        let bucket = "calotype-cluster-\(UUID().uuidString.lowercased().prefix(8))"
        try await s3.createBucket(bucket)
        return ClusterHarness(databaseURL: databaseURL, bucket: bucket, s3: s3, endpoint: server.endpoint, folder: try scratchFolder())
    }

    /// A node's settings: the shared database and bucket, one CPU worker.
    func environment(node: String, extra: [String: String] = [:]) -> [String: String] {
        [
            "CALOTYPE_DATABASE_URL": databaseURL, "CALOTYPE_NODE_NAME": node, "CALOTYPE_RESULTS_URL": "s3://\(bucket)/results/",
            "AWS_ENDPOINT_URL_S3": endpoint.absoluteString, "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": SeaweedFS.secretAccessKey, "CALOTYPE_LEASE": String(lease), "CALOTYPE_CPU_WORKERS": "1",
            "CALOTYPE_MAX_FILES": "1000", "CALOTYPE_GPU": "off",
        ].merging(extra) { $1 }
    }

    /// A keys file in the cluster's folder with a key per tenant (its
    /// scopes, comma separated), made by `calotype keys new`: the keys by
    /// tenant, and the setting that gives the file to a node.
    func keysFile(_ scopes: [String: String]) async throws -> (keys: [String: String], setting: [String: String]) {
        var entries: [String] = []
        var keys: [String: String] = [:]
        for (name, scopes) in scopes.sorted(by: { $0.key < $1.key }) {
            let made = try await CLI.run(["keys", "new", name, "--scopes", scopes], in: folder)
            let lines = made.stdout.split(separator: "\n").map(String.init)
            try #require(made.status == 0 && lines.count == 2, "\(made.stderr)")
            keys[name] = lines[0]
            entries.append(lines[1])
        }
        let file = folder.appendingPathComponent("keys.json")
        try Data(#"{"keys": [\#(entries.joined(separator: ","))]}"#.utf8).write(to: file)
        return (keys, ["CALOTYPE_API_KEYS_FILE": file.path])
    }

    /// Starts a node; its log goes to `{folder}/{node}.log`.
    func start(_ node: String, extra: [String: String] = [:]) async throws -> NodeProcess {
        let log = folder.appendingPathComponent("\(node).log")
        let (process, port) = try await ServerProcess.start(in: folder, environment: environment(node: node, extra: extra), log: log)
        return NodeProcess(name: node, process: process, port: port)
    }

    /// The result objects stored in the bucket.
    func resultObjects() async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await s3.list(bucket: bucket, prefix: "results/", continuationToken: token)
            keys += page.objects.map(\.key).filter { !$0.contains("/inputs/") }
            token = page.continuationToken
        } while token != nil
        return keys
    }
}

/// One `calotype serve` node.
struct NodeProcess: Sendable {
    let name: String
    let process: Process
    let port: Int
    /// The API key its requests carry, when the nodes have a keys file.
    var key: String?

    var base: String { "http://127.0.0.1:\(port)" }

    /// The same node, asked with `key`.
    func with(key: String) -> NodeProcess {
        var node = self
        node.key = key
        return node
    }

    private func authorized(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        return request
    }

    func get(_ path: String) async throws -> (status: Int, body: [UInt8]) {
        let response = try await HTTPClient.shared.execute(authorized(base + path), timeout: .seconds(30))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 64 << 20)))
    }

    func json<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        let (status, body) = try await get(path)
        try #require(status == 200, "\(path): \(status) \(String(decoding: body, as: UTF8.self))")
        return try APIJSON.decode(T.self, from: Data(body))
    }

    func delete(_ path: String) async throws -> (status: Int, body: [UInt8]) {
        var request = authorized(base + path)
        request.method = .DELETE
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 64 << 20)))
    }

    /// Posts `photos` as `files` parts to `path` with the recipe in `query`.
    func post(_ path: String, _ photos: [[UInt8]], query: String) async throws -> (status: Int, body: [UInt8]) {
        let boundary = "calotype-\(UUID().uuidString)"
        var payload: [UInt8] = []
        for (index, photo) in photos.enumerated() {
            payload += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p\(index).jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8
            )
            payload += photo + Array("\r\n".utf8)
        }
        payload += Array("--\(boundary)--\r\n".utf8)
        var request = authorized(base + path + "?" + query)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        return (Int(response.status.code), Array(buffer: try await response.body.collect(upTo: 256 << 20)))
    }

    /// Posts `photos` to `/batches` with the recipe in `query`.
    func postBatch(_ photos: [[UInt8]], query: String) async throws -> APIBatchCreated {
        let (status, body) = try await post("/batches", photos, query: query)
        try #require(status == 202, "POST /batches: \(status) \(String(decoding: body, as: UTF8.self))")
        return try APIJSON.decode(APIBatchCreated.self, from: Data(body))
    }

    /// The batch's events after `lastEventID`, read until `complete` or
    /// until `stopAfter` events (then the connection is dropped, as a
    /// client that goes away does). A stream that has not ended within
    /// `limit` fails the test with what this node says of the cluster,
    /// instead of holding it until the suite's time limit.
    func events(
        of batch: String,
        after lastEventID: Int = 0,
        stopAfter: Int = .max,
        limit: Duration = .seconds(240)
    ) async throws -> [StreamedEvent] {
        let read = NIOLockedValueBox(0)
        return try await withThrowingTaskGroup(of: [StreamedEvent]?.self) { group in
            group.addTask { try await streamEvents(of: batch, after: lastEventID, stopAfter: stopAfter, read: read) }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            let cluster = (try? await get("/cluster")).map { "\($0.status) \(String(decoding: $0.body, as: UTF8.self))" } ?? "no answer"
            throw HarnessFailure(
                description: "node \(name): the events of \(batch) after \(lastEventID) did not end within \(limit) "
                    + "(\(read.withLockedValue { $0 }) read); GET /cluster: \(cluster)"
            )
        }
    }

    private func streamEvents(of batch: String, after lastEventID: Int, stopAfter: Int, read: NIOLockedValueBox<Int>) async throws -> [StreamedEvent]
    {
        var request = authorized(base + "/batches/\(batch)/events")
        if lastEventID > 0 { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        try #require(response.status.code == 200, "events: \(response.status.code)")
        var events: [StreamedEvent] = []
        var text = ""
        for try await chunk in response.body {
            text += String(buffer: chunk)
            while let end = text.range(of: "\n\n") {
                let block = String(text[..<end.lowerBound])
                text.removeSubrange(..<end.upperBound)
                guard let event = StreamedEvent(block) else { continue }
                events.append(event)
                read.withLockedValue { $0 = events.count }
                if event.name == "complete" || events.count >= stopAfter { return events }
            }
        }
        return events
    }

    /// A counter of this node's `/metrics`, summed over the series whose
    /// labels include `labels` (0 when it has not counted yet).
    func metric(_ name: String, where labels: [String: String] = [:]) async throws -> Double {
        let metrics = String(decoding: try await get("/metrics").body, as: UTF8.self)
        var sum = 0.0
        for line in metrics.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            let labelText = line.firstMatch(of: /\{(.*)\}/).map { String($0.output.1) } ?? ""
            guard labels.allSatisfy({ labelText.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            sum += Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return sum
    }

    /// The items this node holds now, as its `/health` says.
    func claims() async throws -> Int {
        let health = try await get("/health")
        return (try? APIJSON.decode(HealthCluster.self, from: Data(health.body)))?.cluster.claims ?? 0
    }

    /// Waits until this node holds an item (polling its `/health`).
    func waitUntilHolding() async throws {
        while try await claims() == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func kill(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }
}

/// One Server-Sent Event as a client reads it.
struct StreamedEvent: Sendable {
    let id: Int
    let name: String
    let data: String

    init?(_ block: String) {
        var id: Int?
        var name: String?
        var data: [String] = []
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = Int(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
        }
        guard let id, let name else { return nil }
        self.id = id
        self.name = name
        self.data = data.joined(separator: "\n")
    }

    var decoded: APIBatchEvent? { try? APIBatchEvent(name: name, data: data) }
}

/// What a finished stream says: every item's one end, and the summary.
struct StreamVerdict {
    var ends: [Int: Int] = [:]
    var succeeded: [APIBatchItem] = []
    var summary: APIBatchSummary?

    init(_ events: [StreamedEvent]) {
        for event in events {
            switch event.decoded {
            case .result(let item):
                ends[item.index, default: 0] += 1
                succeeded.append(item)
            case .error(let error): ends[error.index, default: 0] += 1
            case .complete(let summary): self.summary = summary
            case .progress, nil: break
            }
        }
    }

    func everyItemEndedOnce(_ total: Int) -> Bool {
        ends.count == total && ends.values.allSatisfy { $0 == 1 }
    }
}

/// A harness wait that ran out, with what was seen.
struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
}
