import CalotypeApp
import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import Testing

/// API keys end to end: a real keys file read as `serve` reads it, a live
/// server on loopback, the real engine, and every protected endpoint asked
/// without a key, with a wrong one, with one lacking its scope and with the
/// right one.
@Suite("API keys and scopes", .serialized, .timeLimit(.minutes(3)))
struct AccessTests {
    /// One key per scope, made as `calotype keys new` makes them.
    struct Keys {
        let process: String
        let batches: String
        let metrics: String
        let admin: String
        /// A second tenant with the batches scope.
        let otherBatches: String
        let file: URL

        init() throws {
            var entries: [String] = []
            func make(_ name: String, _ scopes: [String]) throws -> String {
                let made = try NewAPIKey(name: name, scopes: scopes)
                entries.append(made.entry)
                return made.key
            }
            process = try make("worker", ["process"])
            batches = try make("batcher", ["batches"])
            metrics = try make("ops", ["metrics"])
            admin = try make("root", ["admin"])
            otherBatches = try make("neighbour", ["batches"])
            file = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-keys-\(UUID().uuidString).json")
            try Data(#"{"keys": [\#(entries.joined(separator: ",\n"))]}"#.utf8).write(to: file)
        }

        func key(for scope: APIScope) -> String {
            switch scope {
            case .process: process
            case .batches: batches
            case .metrics: metrics
            case .admin: admin
            }
        }

        /// A key that is valid but has none of `scope`.
        func key(lacking scope: APIScope) -> String {
            scope == .metrics ? process : metrics
        }
    }

    /// The server of `ImageEndpointTests`, with the keys file and unsigned
    /// `/img` URLs allowed.
    static func withKeyedServer(
        _ body: @escaping @Sendable (any TestClientProtocol, Int, Keys) async throws -> Void
    ) async throws {
        let keys = try Keys()
        defer { try? FileManager.default.removeItem(at: keys.file) }
        let read = try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_API_KEYS_FILE": keys.file.path]))
        let apiKeys = try #require(read.apiKeys)
        #expect(apiKeys.tenantNames == ["worker", "batcher", "ops", "root", "neighbour"])
        try await ImageEndpointTests.withImageServer(
            { _ in ["CALOTYPE_ALLOW_UNSIGNED": "true"] },
            configure: { $0.apiKeys = apiKeys }
        ) { client, port, _ in try await body(client, port, keys) }
    }

    static func bearer(_ key: String?) -> HTTPFields {
        key.map { [.authorization: "Bearer \($0)"] } ?? [:]
    }

    /// A request to a protected endpoint and what the right key gets.
    struct Call: CustomStringConvertible {
        let method: HTTPRequest.Method
        let uri: String
        let scope: APIScope
        let allowed: HTTPResponse.Status
        var body: MultipartBody?

        var description: String { "\(method) \(uri)" }
    }

    static func calls(batchID: String) throws -> [Call] {
        let photo = try MultipartBody.files(["photo.jpg"])
        return [
            Call(method: .post, uri: "/process?width=40", scope: .process, allowed: .ok, body: try MultipartBody.files(["photo.jpg"], field: "file")),
            Call(method: .post, uri: "/process-batch?width=40", scope: .batches, allowed: .ok, body: photo),
            Call(method: .post, uri: "/process-batch-stream?width=40", scope: .batches, allowed: .ok, body: photo),
            Call(method: .post, uri: "/batches?width=40", scope: .batches, allowed: .accepted, body: photo),
            Call(method: .get, uri: "/batches/\(batchID)", scope: .batches, allowed: .ok),
            Call(method: .get, uri: "/batches/\(batchID)/events", scope: .batches, allowed: .ok),
            Call(method: .delete, uri: "/batches/\(batchID)", scope: .batches, allowed: .ok),
            Call(method: .get, uri: "/results/none", scope: .batches, allowed: .notFound),
            Call(method: .get, uri: "/metrics", scope: .metrics, allowed: .ok),
            Call(method: .get, uri: "/stats", scope: .metrics, allowed: .ok),
            Call(method: .get, uri: "/cluster", scope: .metrics, allowed: .notFound),
        ]
    }

    static func postBatch(key: String, client: any TestClientProtocol) async throws -> APIBatchCreated {
        let body = try MultipartBody.files(["photo.jpg"])
        return try await client.execute(uri: "/batches?width=40", method: .post, headers: bearer(key) + body.headers, body: body.body) {
            try decode(APIBatchCreated.self, $0.body)
        }
    }

    func send(_ call: Call, key: String?, client: any TestClientProtocol) async throws -> TestResponse {
        var headers = Self.bearer(key)
        if let body = call.body { headers.append(contentsOf: body.headers) }
        return try await client.execute(uri: call.uri, method: call.method, headers: headers, body: call.body?.body) { $0 }
    }

    func code(_ response: TestResponse) -> String {
        (try? decode(ErrorBody.self, response.body))?.error.code ?? ""
    }

    @Test func everyProtectedEndpointNeedsTheRightKey() async throws {
        try await Self.withKeyedServer { client, _, keys in
            let batch = try await Self.postBatch(key: keys.batches, client: client)
            for call in try Self.calls(batchID: batch.batchID) {
                let missing = try await send(call, key: nil, client: client)
                #expect(missing.status == .unauthorized && code(missing) == "unauthorized", "\(call) without a key")
                #expect(missing.headers[.wwwAuthenticate] == #"Bearer realm="calotype""#, "\(call)")

                let wrong = try await send(call, key: "cal_not-a-key-of-this-server", client: client)
                #expect(wrong.status == .unauthorized && code(wrong) == "unauthorized", "\(call) with a wrong key")
                #expect(wrong.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true, "\(call)")

                let lacking = try await send(call, key: keys.key(lacking: call.scope), client: client)
                #expect(lacking.status == .forbidden && code(lacking) == "forbidden", "\(call) with a key lacking \(call.scope)")
                #expect(lacking.headers[.wwwAuthenticate]?.contains(#"scope="\#(call.scope.rawValue)""#) == true, "\(call)")

                let right = try await send(call, key: keys.key(for: call.scope), client: client)
                #expect(right.status == call.allowed, "\(call) with its scope's key: \(String(buffer: right.body).prefix(200))")
            }
        }
    }

    @Test func anAdminKeyReachesEveryEndpoint() async throws {
        try await Self.withKeyedServer { client, _, keys in
            let batch = try await Self.postBatch(key: keys.admin, client: client)
            for call in try Self.calls(batchID: batch.batchID) {
                let response = try await send(call, key: keys.admin, client: client)
                #expect(response.status == call.allowed, "\(call) with the admin key")
            }
        }
    }

    @Test func healthReadinessTheDocumentAndTheConsoleStayOpen() async throws {
        try await Self.withKeyedServer { client, _, _ in
            for uri in ["/health", "/ready", "/openapi.json", "/", "/console.js", "/console.css"] {
                #expect(try await client.execute(uri: uri, method: .get) { $0.status } == .ok, "\(uri)")
            }
            let health = try await client.execute(uri: "/health", method: .get) { String(buffer: $0.body) }
            #expect(health.contains(#""access":"api_keys""#), "\(health)")
        }
    }

    /// A signed URL is its own credential; an unsigned one needs `process`.
    @Test func signedImageURLsNeedNoKeyAndUnsignedOnesNeedTheProcessScope() async throws {
        try await Self.withKeyedServer { client, port, keys in
            let path = "/w:50/\(ImageEndpointTests.plain(ImageEndpointTests.photo(port)))"
            #expect(try await client.execute(uri: ImageEndpointTests.signed(path), method: .get) { $0.status } == .ok)
            let unsigned = "/img/insecure\(path)"
            let outcomes: [(String?, HTTPResponse.Status)] = [
                (nil, .unauthorized), ("cal_wrong", .unauthorized), (keys.batches, .forbidden), (keys.process, .ok), (keys.admin, .ok),
            ]
            for (key, status) in outcomes {
                let got = try await client.execute(uri: unsigned, method: .get, headers: Self.bearer(key)) { $0.status }
                #expect(got == status, "unsigned /img with \(key.map { "key \($0.prefix(8))" } ?? "no key")")
            }
            // A key that is not this server's is refused even beside a valid signature.
            let wrong = try await client.execute(uri: ImageEndpointTests.signed(path), method: .get, headers: Self.bearer("cal_wrong")) { $0.status }
            #expect(wrong == .unauthorized)
        }
    }

    @Test func anOpenServerSaysSoInHealth() async throws {
        try await withServer { client, _ in
            let health = try await client.execute(uri: "/health", method: .get) { String(buffer: $0.body) }
            #expect(health.contains(#""access":"open""#), "\(health)")
            let stats = try await client.execute(uri: "/stats", method: .get) { $0.status }
            #expect(stats == .ok)
        }
    }

    @Test func aTenantPastItsRateIsAnswered429WithRetryAfter() async throws {
        // 0.001 requests a second: one request, then none for 1,000 s,
        // however slowly this machine sends the second.
        let made = try NewAPIKey(name: "slow", scopes: ["metrics"], rate: 0.001)
        let other = try NewAPIKey(name: "other", scopes: ["metrics"])
        let keys = try APIKeys(json: Data(#"{"keys": [\#(made.entry), \#(other.entry)]}"#.utf8))
        try await withServer(configure: { $0.apiKeys = keys }) { client, _ in
            #expect(try await client.execute(uri: "/stats", method: .get, headers: Self.bearer(made.key)) { $0.status } == .ok)
            try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(made.key)) { response in
                #expect(response.status == .tooManyRequests && code(response) == "rate_limited")
                let retryAfter = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect((990...1000).contains(retryAfter), "\(retryAfter)")
            }
            // The bucket is the tenant's: another tenant is not held back.
            #expect(try await client.execute(uri: "/stats", method: .get, headers: Self.bearer(other.key)) { $0.status } == .ok)
        }
    }

    /// Each tenant's requests in /metrics, labelled by its configured name.
    @Test func everyTenantsRequestsAreCountedByWhatBecameOfThem() async throws {
        try await Self.withKeyedServer { client, _, keys in
            _ = try await client.execute(uri: "/stats", method: .get, headers: Self.bearer(keys.metrics)) { $0.status }
            _ = try await client.execute(uri: "/stats", method: .get, headers: Self.bearer(keys.process)) { $0.status }
            _ = try await client.execute(uri: "/stats", method: .get, headers: Self.bearer("cal_wrong")) { $0.status }
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(keys.metrics)) { String(buffer: $0.body) }
            let lines = metrics.split(separator: "\n").filter { $0.hasPrefix("calotype_tenant_requests_total{") }
            func count(_ tenant: String, _ outcome: String) -> String? {
                lines.first { $0.contains(#"tenant="\#(tenant)""#) && $0.contains(#"outcome="\#(outcome)""#) }?.split(separator: " ").last.map(
                    String.init
                )
            }
            #expect(count("ops", "admitted") == "2", "\(lines)")  // /stats, and this /metrics
            #expect(count("worker", "forbidden") == "1", "\(lines)")
            #expect(count("unknown", "unauthorized") == "1", "\(lines)")
        }
    }

    /// A batch is its tenant's: another tenant's status, events and cancel
    /// are 404, as for a batch never posted; an admin's are not.
    @Test func anotherTenantsBatchIsNotFoundButAnAdminSeesIt() async throws {
        try await Self.withKeyedServer { client, _, keys in
            let created = try await Self.postBatch(key: keys.batches, client: client)
            for (method, uri) in [(HTTPRequest.Method.get, created.statusURL), (.get, created.eventsURL), (.delete, created.statusURL)] {
                try await client.execute(uri: uri, method: method, headers: Self.bearer(keys.otherBatches)) { response in
                    #expect(response.status == .notFound && code(response) == "not_found", "\(method) \(uri) by another tenant")
                    #expect(!String(buffer: response.body).contains("neighbour"))
                }
            }
            #expect(try await client.execute(uri: created.statusURL, method: .get, headers: Self.bearer(keys.admin)) { $0.status } == .ok)
            // Its owner still has it, uncancelled.
            let status = try await client.execute(uri: created.statusURL, method: .get, headers: Self.bearer(keys.batches)) {
                try decode(APIBatchStatus.self, $0.body)
            }
            #expect(status.status != .cancelled && status.total == 1)
        }
    }

    /// A result's url carries its batch's random token: knowing the batch
    /// id (and the index and recipe) is not enough to read it; and the url
    /// itself reads only for its batch's tenant (or an admin).
    @Test func aResultsUrlIsNotDerivableFromItsBatchID() async throws {
        try await Self.withKeyedServer { client, _, keys in
            func firstResultURL() async throws -> String {
                let body = try MultipartBody.files(["photo.jpg"])
                let answer = try await client.execute(
                    uri: "/process-batch?width=40&format=png",
                    method: .post,
                    headers: Self.bearer(keys.batches) + body.headers,
                    body: body.body
                ) { try decode(APIBatchSummary.self, $0.body) }
                return try #require(answer.results?.first?.url)
            }
            let (first, second) = (try await firstResultURL(), try await firstResultURL())
            let parts = first.split(separator: "/").last?.split(separator: "_") ?? []
            try #require(parts.count == 4, "\(first)")
            let token = parts[3].split(separator: ".")[0]
            #expect(token.count == 32 && token.allSatisfy(\.isHexDigit))
            #expect(first.split(separator: "_").last != second.split(separator: "_").last, "each batch has its own token")
            #expect(try await client.execute(uri: first, method: .get, headers: Self.bearer(keys.batches)) { $0.status } == .ok)
            // The whole url, leaked to another tenant: not found; an admin reads it.
            try await client.execute(uri: first, method: .get, headers: Self.bearer(keys.otherBatches)) { response in
                #expect(response.status == .notFound && code(response) == "not_found", "another tenant's result")
            }
            #expect(try await client.execute(uri: first, method: .get, headers: Self.bearer(keys.admin)) { $0.status } == .ok)
            // The name without its token, as it was made before: not found.
            let derived = parts[0...2].joined(separator: "_") + ".png"
            #expect(
                try await client.execute(
                    uri: "/results/\(derived.split(separator: "/").last ?? "")",
                    method: .get,
                    headers: Self.bearer(keys.batches)
                ) { $0.status } == .notFound
            )
        }
    }
}
