import CalotypeApp
import CalotypeCore
import CalotypeS3
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Server

/// `/process-and-save` into a real S3 server (SeaweedFS, which checks every
/// signature), configured as an operator would: `CALOTYPE_SAVE_URL=s3://...`
/// and the standard `AWS_*` variables.
@Suite("Saving to S3", .serialized, .timeLimit(.minutes(3)))
struct S3SaveTests {
    static func settings(bucket: String, endpoint: URL, secret: String = SeaweedFS.secretAccessKey) -> Settings {
        Settings(environment: [
            "CALOTYPE_SAVE_URL": "s3://\(bucket)/thumbs", "AWS_ENDPOINT_URL_S3": endpoint.absoluteString,
            "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret,
        ])
    }

    /// A new bucket on the shared SeaweedFS: its client, name and endpoint.
    static func bucket() async throws -> (S3Client, String, URL) {
        let server = try await SeaweedFS.shared()
        let credentials = S3Credentials(accessKeyID: SeaweedFS.accessKeyID, secretAccessKey: SeaweedFS.secretAccessKey)
        let s3 = S3Client(configuration: .init(endpoint: server.endpoint, credentials: credentials), http: .shared)
        let bucket = "calotype-saves-\(UUID().uuidString.lowercased().prefix(8))"
        try await s3.createBucket(bucket)
        return (s3, bucket, server.endpoint)
    }

    static func save(_ client: some TestClientProtocol) async throws -> (HTTPResponse.Status, APIBatchSummary) {
        let body = try MultipartBody.files(["photo.jpg", "alpha.png"])
        return try await client.execute(uri: "/process-and-save?width=40&format=webp", method: .post, headers: body.headers, body: body.body) {
            ($0.status, try decode(APIBatchSummary.self, $0.body))
        }
    }

    @Test func resultsLandInTheBucketUnderDeterministicKeys() async throws {
        let (s3, bucket, endpoint) = try await Self.bucket()
        let sink = try ServerConfiguration.read(from: Self.settings(bucket: bucket, endpoint: endpoint)).saveSink
        try await withServer(configure: { $0.saveSink = sink }) { client, _ in
            let (status, summary) = try await Self.save(client)
            #expect(status == .ok && summary.succeeded == 2 && summary.results?.count == 2)
            for item in summary.results ?? [] {
                let saved = try #require(item.savedTo)
                #expect(saved.hasPrefix("s3://\(bucket)/thumbs/\(summary.batchID)/\(item.index)-") && saved.hasSuffix(".webp"))
                let stored = try await s3.get(bucket: bucket, key: String(saved.dropFirst("s3://\(bucket)/".count)), maxBytes: 1 << 20)
                let served = try await client.execute(uri: try #require(item.url), method: .get) { Array($0.body.readableBytesView) }
                #expect(stored.bytes == served && stored.contentType == "image/webp")
            }
        }
    }

    /// A refused signature is the items' `save_failed` and a 502, and every
    /// result is still at its url: nothing is lost.
    @Test func aWrongSecretIs502AndNothingIsLost() async throws {
        let (s3, bucket, endpoint) = try await Self.bucket()
        let sink = try ServerConfiguration.read(from: Self.settings(bucket: bucket, endpoint: endpoint, secret: "not-the-secret")).saveSink
        try await withServer(configure: { $0.saveSink = sink }) { client, _ in
            let (status, summary) = try await Self.save(client)
            #expect(status == .badGateway && summary.results?.count == 2)
            for item in summary.results ?? [] {
                #expect(item.error?.code == .saveFailed && item.error?.message.contains("SignatureDoesNotMatch") == true)
                let served = try await client.execute(uri: try #require(item.url), method: .get) { $0.status }
                #expect(served == .ok)
            }
        }
        #expect(try await s3.list(bucket: bucket, prefix: "").objects.isEmpty)
    }

    /// `CALOTYPE_RESULTS_URL=s3://...`: results at deterministic keys, and
    /// served by another server sharing the bucket (another node, or this
    /// one after a restart), which never wrote them.
    @Test func theResultStoreInS3IsSharedBetweenServers() async throws {
        let (s3, bucket, endpoint) = try await Self.bucket()
        let settings = Settings(environment: [
            "CALOTYPE_RESULTS_URL": "s3://\(bucket)/results", "AWS_ENDPOINT_URL_S3": endpoint.absoluteString,
            "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID, "AWS_SECRET_ACCESS_KEY": SeaweedFS.secretAccessKey,
        ])
        let storage = try ServerConfiguration.read(from: settings).resultStorage
        let body = try MultipartBody.files(["photo.jpg", "alpha.png"])
        let written = try await withResults(storage) { client in
            let summary = try await client.execute(uri: "/process-batch?width=40&format=png", method: .post, headers: body.headers, body: body.body) {
                try decode(APIBatchSummary.self, $0.body)
            }
            var served: [String: [UInt8]] = [:]
            for item in summary.results ?? [] {
                let url = try #require(item.url)
                #expect(url.hasPrefix("/results/\(summary.batchID)_\(item.index)_") && url.hasSuffix(".png"))
                served[url] = try await client.execute(uri: url, method: .get) { Array($0.body.readableBytesView) }
            }
            return (summary.batchID, served)
        }
        let keys = Set(try await s3.list(bucket: bucket, prefix: "results/").objects.map(\.key))
        #expect(keys.count == 2 && keys.allSatisfy { $0.hasPrefix("results/\(written.0)/") && $0.hasSuffix(".png") })
        try await withResults(storage) { client in
            for (url, bytes) in written.1 {
                try await client.execute(uri: url, method: .get) { response in
                    #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                    #expect(Array(response.body.readableBytesView) == bytes)
                }
            }
            let unknown = "/results/\(written.0)_7_00ff00ff00ff.png"
            #expect(try await client.execute(uri: unknown, method: .get) { $0.status } == .notFound)
        }
    }

    /// A server whose result store is `storage`; its writes to the storage
    /// have finished when it returns, as at a shutdown.
    func withResults<T: Sendable>(
        _ storage: (any ResultStorage)?,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning
        configuration.resultStorage = storage
        let engine = try await Engine.start(.init(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600))))
        let server = CalotypeServer(engine: engine, configuration: configuration)
        do {
            let value = try await server.makeApplication().test(.live) { client in try await body(client) }
            await server.results.settle()
            await engine.shutdown()
            return value
        } catch {
            await engine.shutdown()
            throw error
        }
    }

    @Test func s3WithoutCredentialsIsAStartError() {
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_SAVE_URL": "s3://bucket/prefix/"]))
        }
    }

    /// A prefix the S3 client would refuse to write under is refused when
    /// the server starts, by its setting's name, not on every write.
    @Test(arguments: ["CALOTYPE_SAVE_URL", "CALOTYPE_RESULTS_URL"])
    func anOddPrefixIsAStartError(_ variable: String) {
        let credentials = ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"]
        for prefix in ["s3://bucket/results//", "s3://bucket/a/../b/", "s3://bucket/p/?acl=public-read", "s3://bucket/a%0ab/"] {
            #expect("\(prefix)") {
                try ServerConfiguration.read(from: Settings(environment: credentials.merging([variable: prefix]) { $1 }))
            } throws: { ($0 as? ConfigurationError)?.variable == variable }
        }
        #expect(throws: Never.self) {
            try ServerConfiguration.read(from: Settings(environment: credentials.merging([variable: "s3://bucket/results/"]) { $1 }))
        }
    }
}
