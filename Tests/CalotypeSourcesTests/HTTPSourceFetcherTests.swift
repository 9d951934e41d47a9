import CalotypeCore
import CalotypeSources
import Foundation
import Hummingbird
import NIOPosix
import TestSupport
import Testing

/// A real origin on loopback: an image, a large body, a slow answer, a 404,
/// a 500, and redirects (to itself, to a name that is not allowed, to a
/// private address, in a loop).
func withOrigin(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let image = [UInt8](repeating: 0xAB, count: 10_000)
    let router = Router()
    router.get("photo.jpg") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain", .eTag: "\"v1\""], body: .init(byteBuffer: ByteBuffer(bytes: image)))
    }
    addFailingRoutes(to: router)
    router.get("to-photo") { _, _ in Response(status: .found, headers: [.location: "/photo.jpg"]) }
    router.get("to-unlisted") { _, _ in Response(status: .found, headers: [.location: "http://127.0.0.1:1/photo.jpg"]) }
    router.get("to-private") { _, _ in Response(status: .temporaryRedirect, headers: [.location: "http://inside.test/photo.jpg"]) }
    router.get("loop") { _, _ in Response(status: .found, headers: [.location: "/loop"]) }
    try await withLoopbackServer(router, body)
}

@Suite("Sources: fetching over HTTP", .timeLimit(.minutes(2)))
struct HTTPSourceFetcherTests {
    /// `origin.test` is the loopback origin (so loopback is allowed here);
    /// `inside.test` is a private address that must never be connected to.
    /// A deadline no answer reaches on a loaded machine (2 s did, at the
    /// start of a full run); the timeout case sets its own.
    static func fetcher(
        port: Int,
        limits: FetchLimits = FetchLimits(maxBytes: 100_000, connectTimeout: .seconds(60), totalTimeout: .seconds(60), idleTimeout: .seconds(60))
    ) throws -> HTTPSourceFetcher {
        let policy = SourcePolicy(
            allowList: try SourceAllowList("http://origin.test:\(port)/, http://inside.test/"),
            addressGuard: AddressGuard(allowLoopback: true),
            resolver: TableResolver(table: ["origin.test": ["127.0.0.1"], "inside.test": ["10.9.8.7"]])
        )
        return HTTPSourceFetcher(policy: policy, limits: limits, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    }

    static func url(_ port: Int, _ path: String) -> URL { URL(string: "http://origin.test:\(port)/\(path)")! }

    @Test func anImageIsFetchedWithItsValidators() async throws {
        try await withOrigin { port in
            let fetched = try await Self.fetcher(port: port).fetch(Self.url(port, "photo.jpg"))
            #expect(fetched.bytes.count == 10_000 && fetched.eTag == "\"v1\"")
        }
    }

    @Test func redirectsAreFollowedAndEachHopIsChecked() async throws {
        try await withOrigin { port in
            let fetcher = try Self.fetcher(port: port)
            #expect(try await fetcher.fetch(Self.url(port, "to-photo")).url.path == "/photo.jpg")
            await #expect(throws: SourceError.self, "127.0.0.1 is not on the allow-list") {
                try await fetcher.fetch(Self.url(port, "to-unlisted"))
            }
            await #expect {
                try await fetcher.fetch(Self.url(port, "to-private"))
            } throws: { error in
                if case SourceError.notAllowed(let why) = error { why.contains("10.9.8.7") } else { false }
            }
            await #expect {
                try await fetcher.fetch(Self.url(port, "loop"))
            } throws: { error in
                if case SourceError.unreachable(let why) = error { why.contains("redirected more than") } else { false }
            }
        }
    }

    @Test func originErrorsAreTyped() async throws {
        try await withOrigin { port in
            let fetcher = try Self.fetcher(port: port)
            await #expect(throws: SourceError.notFound(Self.url(port, "missing").absoluteString)) {
                try await fetcher.fetch(Self.url(port, "missing"))
            }
            await #expect(throws: SourceError.unreachable("\(Self.url(port, "broken")) answered 500")) {
                try await fetcher.fetch(Self.url(port, "broken"))
            }
            await #expect(throws: SourceError.tooLarge(Self.url(port, "big").absoluteString, limit: 100_000)) {
                try await fetcher.fetch(Self.url(port, "big"))
            }
            // The origin answers after 30 s; the deadline is 2 s.
            let impatient = try Self.fetcher(port: port, limits: FetchLimits(maxBytes: 100_000, totalTimeout: .seconds(2)))
            await #expect(throws: SourceError.timeout(Self.url(port, "slow").absoluteString)) { try await impatient.fetch(Self.url(port, "slow")) }
        }
    }
}
