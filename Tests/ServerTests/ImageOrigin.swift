import CalotypeCore
import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import TestSupport

/// How many requests an origin is answering at once, and the most it ever
/// did: a batch by reference must fetch as workers become free, never all
/// its sources up front.
final class OriginCounter: Sendable {
    private let state = NIOLockedValueBox((inFlight: 0, most: 0, total: 0))

    var most: Int { state.withLockedValue { $0.most } }
    var total: Int { state.withLockedValue { $0.total } }

    func begin() {
        state.withLockedValue { state in
            state.inFlight += 1
            state.total += 1
            state.most = max(state.most, state.inFlight)
        }
    }

    func end() { state.withLockedValue { $0.inFlight -= 1 } }
}

/// A real image origin on loopback: the fixtures under `/images/` (and
/// under `/counted/`, answered after 50 ms and counted), with a
/// `Last-Modified`; a slow answer, one over the cap, a 404, a 500, and
/// redirects to a link-local name and to an address off the allow-list.
func withImageOrigin(counter: OriginCounter = OriginCounter(), _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let router = Router()
    router.get("counted/{name}") { _, context -> Response in
        counter.begin()
        defer { counter.end() }
        // An origin's latency, so that fetches that overlap are seen overlapping.
        try await Task.sleep(for: .milliseconds(50))
        guard let bytes = try? Fixtures.bytes(context.parameters.get("name") ?? "") else { return Response(status: .notFound) }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
    router.get("images/{name}") { _, context -> Response in
        let name = context.parameters.get("name") ?? ""
        guard !name.contains("/"), let bytes = try? Fixtures.bytes(name) else { return Response(status: .notFound) }
        // The origin's content type is wrong on purpose: the engine reads the format from the bytes.
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain", .lastModified: "Tue, 01 Dec 2026 10:00:00 GMT"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
    addFailingRoutes(to: router)
    router.get("to-metadata") { _, _ in Response(status: .found, headers: [.location: "http://metadata.test/latest/meta-data/"]) }
    // Loopback, off the allow-list (refused before any connection, so the port does not matter).
    router.get("to-loopback") { _, _ in Response(status: .found, headers: [.location: "http://127.0.0.1:1/images/photo.jpg"]) }
    router.get("to-photo") { _, _ in Response(status: .found, headers: [.location: "/images/photo.jpg"]) }
    try await withLoopbackServer(router, body)
}
