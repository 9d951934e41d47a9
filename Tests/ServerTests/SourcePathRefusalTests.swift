import CalotypeApp
import CalotypeCore
import CalotypeS3
import CalotypeSources
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Server
import TestSupport
import Testing

/// Every request an origin was sent, by its raw target, before routing:
/// what a refused reference must never appear in.
final class RequestLog: Sendable {
    private let targets = NIOLockedValueBox<[String]>([])

    var all: [String] { targets.withLockedValue { $0 } }

    func record(_ target: String) { targets.withLockedValue { $0.append(target) } }
}

struct RecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let log: RequestLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        log.record(request.uri.description)
        return try await next(request, context)
    }
}

/// An origin that answers any path ending in `photo.jpg` or `secret.jpg`
/// with a photo (so that a reference that escaped its folder would be
/// served, not merely missing), and redirects from `/photos/to-*` out of
/// the allowed `/photos/` folder in every odd form.
func withRecordingOrigin(_ log: RequestLog, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let router = Router()
    router.add(middleware: RecordingMiddleware(log: log))
    let redirects = [
        "to-encoded": "/photos/%2e%2e/private/secret.jpg", "to-relative": "../private/secret.jpg",
        "to-encoded-slash": "/photos/..%2fprivate/secret.jpg", "to-backslash": "/photos/..%5cprivate/secret.jpg",
        "to-photo": "/photos/photo.jpg",
    ]
    router.get("**") { request, _ -> Response in
        let path = request.uri.path
        if let name = path.split(separator: "/").last, let location = redirects[String(name)] {
            return Response(status: .found, headers: [.location: location])
        }
        if path.hasSuffix("/to-absolute") {
            return Response(status: .found, headers: [.location: "http://origin.test:\(request.uri.port ?? 0)/photos/../private/secret.jpg"])
        }
        guard path.hasSuffix("photo.jpg") || path.hasSuffix("secret.jpg") else { return Response(status: .notFound) }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try Fixtures.bytes("photo.jpg"))))
    }
    try await withLoopbackServer(router, body)
}

/// Issue 24: references whose path has dot segments (raw or encoded),
/// backslashes, control or empty segments are refused before any request,
/// against a real origin on loopback, a real S3 server and a local folder.
@Suite("Odd reference paths are refused, never sent", .serialized, .timeLimit(.minutes(3)))
struct SourcePathRefusalTests {
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    /// A server allowed `http://origin.test:PORT/photos/`, `s3://BUCKET/in/`
    /// and to write to `s3://BUCKET/out/`, with `environment` added.
    static func withRefusingServer(
        log: RequestLog,
        bucket: String,
        endpoint: URL,
        _ environment: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void
    ) async throws {
        try await withRecordingOrigin(log) { port in
            var settings = [
                "CALOTYPE_ALLOWED_SOURCES": "http://origin.test:\(port)/photos/,s3://\(bucket)/in/",
                "CALOTYPE_ALLOWED_DESTINATIONS": "s3://\(bucket)/out/", "CALOTYPE_ALLOW_LOOPBACK_SOURCES": "true",
                "AWS_ENDPOINT_URL_S3": endpoint.absoluteString,
                "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID, "AWS_SECRET_ACCESS_KEY": SeaweedFS.secretAccessKey,
            ]
            settings.merge(environment) { $1 }
            let read = try ServerConfiguration.read(
                from: Settings(environment: settings),
                resolver: TableResolver(table: ["origin.test": ["127.0.0.1"]])
            )
            try await withServer(configure: {
                $0.sources = read.sources
                $0.destinations = read.destinations
            }) { client, _ in try await body(client, port) }
        }
    }

    static func post(
        _ client: any TestClientProtocol,
        _ uri: String,
        _ object: [String: Any]
    ) async throws -> (HTTPResponse.Status, String, ByteBuffer) {
        let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
        return try await client.execute(uri: uri, method: .post, headers: Self.jsonHeaders, body: body) { response in
            (response.status, ImageEndpointTests.errorCode(response), response.body)
        }
    }

    /// Escapes out of `/photos/` and `in/` in every odd form, against an
    /// origin that would serve them and a bucket that holds them: each
    /// batch is refused whole, and neither service is sent a thing.
    @Test func aBatchWithAnOddSourceIsRefusedBeforeAnyRequest() async throws {
        let (s3, bucket, endpoint) = try await S3SaveTests.bucket()
        try await s3.put(bucket: bucket, key: "in/photo.jpg", bytes: try Fixtures.bytes("photo.jpg"), contentType: "image/jpeg")
        try await s3.put(bucket: bucket, key: "private/secret.jpg", bytes: try Fixtures.bytes("photo.jpg"), contentType: "image/jpeg")
        let log = RequestLog()
        try await Self.withRefusingServer(log: log, bucket: bucket, endpoint: endpoint) { client, port in
            let origin = "http://origin.test:\(port)"
            let odd = [
                "\(origin)/photos/../private/secret.jpg", "\(origin)/photos/%2e%2e/private/secret.jpg",
                "\(origin)/photos/%2E%2E/private/secret.jpg", "\(origin)/photos/.%2e/private/secret.jpg",
                "\(origin)/photos/..%2fprivate/secret.jpg", "\(origin)/photos/..%5cprivate/secret.jpg", "\(origin)/photos/./../private/secret.jpg",
                "\(origin)/photos/..;/private/secret.jpg", "\(origin)/photos//secret.jpg", "\(origin)/photos/a%0aSet-Cookie:%20x/photo.jpg",
                "\(origin)/photos/photo.jpg?x=%00", "s3://\(bucket)/in/../private/secret.jpg", "s3://\(bucket)/in//../../private/secret.jpg",
                "s3://\(bucket)/in/%2e%2e/private/secret.jpg", "s3://\(bucket)/in/..%2f..%2fprivate/secret.jpg",
                "s3://\(bucket)/in/photo.jpg?versionId=1",
                "s3://\(bucket)/in//photo.jpg",
            ]
            for source in odd {
                let good = "\(origin)/photos/photo.jpg"
                let (status, code, body) = try await Self.post(client, "/batches", ["sources": [good, source]])
                #expect(status == .badRequest && code == "invalid_source", "\(source.debugDescription)")
                #expect(String(buffer: body).contains("sources[1]"), "\(source.debugDescription)")
            }
            #expect(log.all.isEmpty, "the origin was sent \(log.all)")
            // The same server does fetch what is allowed, from both: the log
            // and the refusals above are not a server that fetches nothing.
            let (status, _, body) = try await Self.post(
                client,
                "/process-batch",
                ["sources": ["\(origin)/photos/photo.jpg", "s3://\(bucket)/in/photo.jpg"], "options": "width=20"]
            )
            let summary = try decode(APIBatchSummary.self, body)
            #expect(status == .ok && summary.succeeded == 2)
            #expect(log.all == ["/photos/photo.jpg"])
        }
    }

    /// An allowed origin that redirects out of `/photos/` by an encoded or
    /// relative `..`: the item fails, and the target is never requested.
    @Test func aRedirectOutOfTheFolderIsNeverFollowed() async throws {
        let (_, bucket, endpoint) = try await S3SaveTests.bucket()
        let log = RequestLog()
        try await Self.withRefusingServer(log: log, bucket: bucket, endpoint: endpoint) { client, port in
            let names = ["to-encoded", "to-relative", "to-encoded-slash", "to-backslash", "to-absolute", "to-photo"]
            let sources = names.map { "http://origin.test:\(port)/photos/\($0)" }
            let (status, _, body) = try await Self.post(client, "/process-batch", ["sources": sources, "options": "width=20"])
            #expect(status == .ok)
            let items = try #require(try decode(APIBatchSummary.self, body).results)
            for item in items.dropLast() {
                // Refused by the redirect's check (403), or by the check of
                // the URL it resolves to (400 for a path left odd).
                #expect(item.status == .error && [.sourceNotAllowed, .invalidSource].contains(item.error?.code), "\(item.filename ?? "")")
            }
            #expect(items.last?.status == .ok, "a redirect within the folder is followed")
            #expect(!log.all.contains { $0.contains("private") || $0.contains("secret") }, "the origin was sent \(log.all)")
            #expect(log.all.contains("/photos/photo.jpg"))
        }
    }

    /// A destination that leaves its folder or carries what S3 would read
    /// (a query, a newline): refused whole before a fetch, and the bucket
    /// stays empty; the folder itself is written.
    @Test func aBatchWithAnOddDestinationWritesNothing() async throws {
        let (s3, bucket, endpoint) = try await S3SaveTests.bucket()
        let log = RequestLog()
        try await Self.withRefusingServer(log: log, bucket: bucket, endpoint: endpoint) { client, port in
            let good = "http://origin.test:\(port)/photos/photo.jpg"
            let destinations = [
                "s3://\(bucket)/out/../other/", "s3://\(bucket)/out/%2e%2e/other/", "s3://\(bucket)/out/..%2fother/",
                "s3://\(bucket)/out/..%2F..%2Fother/",
                "s3://\(bucket)/out//", "s3://\(bucket)/out/thumbs\n", "s3://\(bucket)/out/thumbs%0a/", "s3://\(bucket)/out/?acl=public-read",
                "s3://\(bucket)/out/thumbs#x", "s3://\(bucket)/out/a%5c..%5c..%5cother/", "s3://\(bucket)/out/./",
            ]
            for destination in destinations {
                let (status, code, _) = try await Self.post(
                    client,
                    "/batches",
                    ["sources": [good], "options": "width=20", "destination": destination]
                )
                #expect(status == .forbidden && code == "destination_not_allowed", "\(destination.debugDescription)")
            }
            #expect(log.all.isEmpty, "the origin was sent \(log.all)")
            #expect(try await s3.list(bucket: bucket, prefix: "").objects.isEmpty)
            let (status, _, body) = try await Self.post(
                client,
                "/process-batch",
                ["sources": [good], "options": "width=20", "destination": "s3://\(bucket)/out/thumbs/"]
            )
            let saved = try #require(try decode(APIBatchSummary.self, body).results?.first?.savedTo)
            #expect(status == .ok && saved.hasPrefix("s3://\(bucket)/out/thumbs/"))
            #expect(try await s3.list(bucket: bucket, prefix: "").objects.map(\.key) == [String(saved.dropFirst("s3://\(bucket)/".count))])
        }
    }

    /// A link in the allowed `in/` that leads to the root's `private/`:
    /// its item is refused; the photo beside it is read.
    @Test func aLocalLinkOutOfTheAllowedFolderIsRefused() async throws {
        let (_, bucket, endpoint) = try await S3SaveTests.bucket()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-local-links-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for folder in ["in", "private"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try Data(Fixtures.bytes("photo.jpg")).write(to: root.appendingPathComponent("in/photo.jpg"))
        try Data(Fixtures.bytes("photo.jpg")).write(to: root.appendingPathComponent("private/secret.jpg"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("in/link").path, withDestinationPath: "../private")
        let environment = ["CALOTYPE_ALLOWED_SOURCES": "local:///in/", "CALOTYPE_LOCAL_SOURCES_ROOT": root.path]
        try await Self.withRefusingServer(log: RequestLog(), bucket: bucket, endpoint: endpoint, environment) { client, _ in
            let (status, _, body) = try await Self.post(
                client,
                "/process-batch",
                ["sources": ["local:///in/photo.jpg", "local:///in/link/secret.jpg"], "options": "width=20"]
            )
            let items = try #require(try decode(APIBatchSummary.self, body).results)
            #expect(status == .ok && items.count == 2)
            #expect(items.first?.status == .ok)
            #expect(items.last?.error?.code == .sourceNotAllowed)
            let (refused, code, _) = try await Self.post(client, "/batches", ["sources": ["local:///in/%2e%2e/private/secret.jpg"]])
            #expect(refused == .badRequest && code == "invalid_source")
        }
    }

    /// Every odd destination form, read from the settings as an operator
    /// writes them (no S3 request: a refusal is decided from the text).
    @Test func everyOddDestinationFormIsRefused() throws {
        let read = try ServerConfiguration.read(
            from: Settings(environment: [
                "CALOTYPE_ALLOWED_DESTINATIONS": "s3://out/thumbs/", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1",
                "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
            ])
        )
        let destinations = try #require(read.destinations)
        for path in [
            "../other/", "%2e%2e/other/", "%2E%2E/other/", ".%2e/other/", "%2e./other/", "..%2fother/", "..%2Fother/", "..%5cother/",
            "./", "x/../../other/", "x/./", "x//", "/", "x%0a/", "x\n", "x\r/", "x%00/", "x\\y/", "x%5cy/", "?acl=public-read",
            "x?acl=public-read", "x#y", "x%zz/", "..;/other/",
        ] {
            #expect(throws: DestinationRefusal.self, "\(path.debugDescription)") { try destinations.sink(for: "s3://out/thumbs/\(path)") }
        }
        for destination in ["s3://out/thumbs", "s3://out/thumbs/", "s3://out/thumbs/a/b", "s3://out/thumbs/..a/", "s3://out/thumbs/a%20b/"] {
            #expect(throws: Never.self, "\(destination)") { try destinations.sink(for: destination) }
        }
        #expect(throws: DestinationRefusal.self) { try destinations.sink(for: "s3://out/thumbs-other/") }
    }
}
