import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

@testable import CalotypeS3

/// Behind the references' own checks, the client never sends a bucket or
/// key that a path-cleaning service would read as another object.
@Suite("S3 client: names it will not send")
struct S3ObjectNameTests {
    static let refusedKeys = [
        "in/../other/k.jpg", "in/../../other-bucket/k.jpg", "../k.jpg", "in/./k.jpg", "in/..", ".", "in//k.jpg", "/k.jpg", "in/",
        "", "in/a\nb.jpg", "in/a\u{0}b.jpg", "in/a\\..\\b.jpg", "in/a\u{85}b.jpg",
    ]

    @Test func oddKeysAndBucketsAreNamed() {
        for key in Self.refusedKeys {
            #expect(S3ObjectName.problem(bucket: "b", key: key)?.code == "InvalidObjectName", "\(key.debugDescription)")
        }
        for bucket in ["", ".", "..", "b/in", "b\n", "b\\c"] {
            #expect(S3ObjectName.problem(bucket: bucket, key: "k.jpg")?.code == "InvalidBucketName", "\(bucket.debugDescription)")
        }
        for key in ["k.jpg", "in/k.jpg", "in/..k.jpg", "in/k..jpg", "in/.hidden", "in/summer 2024/café + & = @ !.jpg"] {
            #expect(S3ObjectName.problem(bucket: "b", key: key) == nil, "\(key)")
        }
        #expect(S3ObjectName.problem(bucket: "b", key: nil) == nil, "the bucket itself")
    }

    /// Against an endpoint where nothing listens: a request that was sent
    /// would be `unreachable`; a refused name is the 400 without one.
    @Test func aRefusedNameIsNeverSent() async throws {
        let port = try SeaweedFS.freePorts(1)[0]
        let endpoint = try #require(URL(string: "http://127.0.0.1:\(port)"))
        let s3 = S3Client(
            configuration: .init(
                endpoint: endpoint,
                credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret"),
                timeout: .seconds(2)
            ),
            http: .shared
        )
        func refused(_ error: S3Error?) -> Bool {
            if case .unexpected(400, let code, _) = error { ["InvalidObjectName", "InvalidBucketName"].contains(code) } else { false }
        }
        for key in Self.refusedKeys {
            #expect(refused(await Self.error { _ = try await s3.get(bucket: "b", key: key, maxBytes: 10) }), "\(key.debugDescription)")
            #expect(
                refused(await Self.error { try await s3.put(bucket: "b", key: key, bytes: [1], contentType: "image/jpeg") }),
                "\(key.debugDescription)"
            )
        }
        #expect(refused(await Self.error { _ = try await s3.head(bucket: "..", key: "k.jpg") }))
        #expect(refused(await Self.error { try await s3.delete(bucket: "b", key: "in/../k.jpg") }))
        // The same client does send an ordinary name (and finds nobody there).
        let sent = await Self.error { _ = try await s3.get(bucket: "b", key: "in/k.jpg", maxBytes: 10) }
        if case .unreachable = sent {} else { Issue.record("an ordinary key was not sent: \(String(describing: sent))") }
    }

    static func error(_ body: () async throws -> Void) async -> S3Error? {
        do {
            try await body()
            return nil
        } catch {
            return error as? S3Error
        }
    }
}
