import CalotypeCore
import CalotypeS3
import Foundation
import Server

/// The result store in S3 (`CALOTYPE_RESULTS_URL=s3://bucket/prefix/`):
/// each result at `prefix/{batch}/{index}-{recipe hash}.{ext}`, so that any
/// node sharing the bucket serves any node's results, and a restart loses
/// none. Nothing is emptied at start; the store deletes what expires while
/// it runs, and a result older than its lifetime is not served whoever
/// wrote it (a bucket lifecycle rule removes what a stopped node left).
struct S3ResultStorage: ResultStorage {
    let client: S3Client
    let bucket: String
    /// Ends with `/` unless empty.
    let prefix: String
    let isShared = true

    func key(_ name: ResultName) -> String {
        "\(prefix)\(name.batchID)/\(name.index)-\(name.recipeHash)-\(name.token).\(name.fileExtension)"
    }

    func prepare() async throws {}

    func write(_ bytes: [UInt8], as name: ResultName, mediaType: String, owner: String) async throws {
        try await client.put(
            bucket: bucket,
            key: key(name),
            bytes: bytes,
            contentType: mediaType,
            metadata: [(Self.ownerMetadata, owner)]
        )
    }

    /// The object's user metadata that names the tenant whose batch made
    /// it (tenant names are letters, digits, `.`, `_` and `-`: valid here).
    static let ownerMetadata = "calotype-owner"

    func read(_ name: ResultName) async throws -> StoredResult? {
        // (Not `catch .notFound`: that pattern on a typed throw crashes Swift 6.3's compiler.)
        let object: S3Client.Object
        do {
            object = try await client.get(bucket: bucket, key: key(name), maxBytes: Self.maxResultBytes)
        } catch {
            if case .notFound = error { return nil }
            throw error
        }
        return StoredResult(
            bytes: object.bytes,
            mediaType: object.contentType ?? name.mediaType,
            written: object.lastModified.flatMap(Self.httpDate),
            owner: object.metadata[Self.ownerMetadata]
        )
    }

    func delete(_ name: ResultName) async throws {
        try await client.delete(bucket: bucket, key: key(name))
    }

    /// No result is larger than the largest image the engine makes.
    static let maxResultBytes = 256 << 20

    /// An HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`), as S3's `Last-Modified`.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
