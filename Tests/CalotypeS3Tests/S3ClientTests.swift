import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

@testable import CalotypeS3

/// The client against a real S3 server (SeaweedFS on loopback), which
/// checks every signature.
@Suite("S3 client against SeaweedFS", .serialized, .timeLimit(.minutes(3)))
struct S3ClientTests {
    static func client(secret: String = SeaweedFS.secretAccessKey, timeout: Duration = .seconds(30)) async throws -> S3Client {
        let server = try await SeaweedFS.shared()
        let credentials = S3Credentials(accessKeyID: SeaweedFS.accessKeyID, secretAccessKey: secret)
        return S3Client(configuration: .init(endpoint: server.endpoint, credentials: credentials, timeout: timeout), http: .shared)
    }

    /// A bucket of its own for each test.
    static func bucket(_ client: S3Client) async throws -> String {
        let name = "calotype-\(UUID().uuidString.lowercased().prefix(8))"
        try await client.createBucket(name)
        return name
    }

    @Test func putGetHeadAndListRoundTripKeysOfEveryKind() async throws {
        let s3 = try await Self.client()
        let bucket = try await Self.bucket(s3)
        let keys = ["in/plain.jpg", "in/summer 2024/café + & = @ !.jpg", "in/a~b-c_d.e.png"]
        for (index, key) in keys.enumerated() {
            try await s3.put(bucket: bucket, key: key, bytes: Array("object \(index)".utf8), contentType: "image/jpeg")
        }
        for (index, key) in keys.enumerated() {
            let object = try await s3.get(bucket: bucket, key: key, maxBytes: 1 << 20)
            #expect(object.bytes == Array("object \(index)".utf8))
            #expect(object.contentType == "image/jpeg" && object.eTag != nil)
            let info = try #require(try await s3.head(bucket: bucket, key: key))
            #expect(info.size == object.bytes.count)
        }
        let page = try await s3.list(bucket: bucket, prefix: "in/")
        #expect(Set(page.objects.map(\.key)) == Set(keys) && page.continuationToken == nil)
    }

    @Test func listingPagesThroughEveryKey() async throws {
        let s3 = try await Self.client()
        let bucket = try await Self.bucket(s3)
        for index in 0..<5 { try await s3.put(bucket: bucket, key: "p/\(index)", bytes: [UInt8(index)], contentType: "application/octet-stream") }
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await s3.list(bucket: bucket, prefix: "p/", continuationToken: token, maxKeys: 2)
            seen += page.objects.map(\.key)
            token = page.continuationToken
            pages += 1
        } while token != nil && pages < 10
        #expect(seen.sorted() == (0..<5).map { "p/\($0)" } && pages == 3)
    }

    @Test func aMissingKeyIsNotFound() async throws {
        let s3 = try await Self.client()
        let bucket = try await Self.bucket(s3)
        await #expect(throws: S3Error.notFound(bucket: bucket, key: "nope.jpg")) {
            try await s3.get(bucket: bucket, key: "nope.jpg", maxBytes: 1024)
        }
        #expect(try await s3.head(bucket: bucket, key: "nope.jpg") == nil)
    }

    @Test func aWrongSecretIsRefusedByTheServer() async throws {
        let s3 = try await Self.client()
        let bucket = try await Self.bucket(s3)
        try await s3.put(bucket: bucket, key: "x.jpg", bytes: [1, 2, 3], contentType: "image/jpeg")
        let impostor = try await Self.client(secret: "not-the-secret")
        await #expect {
            try await impostor.get(bucket: bucket, key: "x.jpg", maxBytes: 1024)
        } throws: { error in
            if case S3Error.accessDenied(code: "SignatureDoesNotMatch", _) = error { true } else { false }
        }
        await #expect(throws: S3Error.self) {
            try await impostor.put(bucket: bucket, key: "x.jpg", bytes: [9], contentType: "image/jpeg")
        }
        #expect(try await s3.get(bucket: bucket, key: "x.jpg", maxBytes: 1024).bytes == [1, 2, 3], "the impostor's PUT changed nothing")
    }

    @Test func anObjectOverTheLimitIsRefusedUnread() async throws {
        let s3 = try await Self.client()
        let bucket = try await Self.bucket(s3)
        try await s3.put(bucket: bucket, key: "big.bin", bytes: [UInt8](repeating: 7, count: 300_000), contentType: "application/octet-stream")
        await #expect(throws: S3Error.tooLarge(limit: 100_000)) {
            try await s3.get(bucket: bucket, key: "big.bin", maxBytes: 100_000)
        }
        #expect(try await s3.get(bucket: bucket, key: "big.bin", maxBytes: 300_000).bytes.count == 300_000)
    }

    @Test func anUnreachableServiceSaysSo() async throws {
        let port = try SeaweedFS.freePorts(1)[0]
        let credentials = S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret")
        let s3 = S3Client(
            configuration: .init(endpoint: URL(string: "http://127.0.0.1:\(port)")!, credentials: credentials, timeout: .seconds(2)),
            http: .shared
        )
        await #expect {
            try await s3.head(bucket: "b", key: "k")
        } throws: { error in
            if case S3Error.unreachable = error { true } else { false }
        }
    }
}
