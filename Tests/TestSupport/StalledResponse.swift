import Hummingbird
import NIOCore

/// An origin's answer that stalls: its head and 2 bytes of a declared
/// 100,000-byte body, then nothing until the server serving it stops.
public func stalledResponse() -> Response {
    Response(
        status: .ok,
        headers: [.contentLength: "100000"],
        body: ResponseBody { writer in
            try await writer.write(ByteBuffer(bytes: [0xFF, 0xD8]))
            try await Task.sleep(for: .seconds(3600))
            try await writer.finish(nil)
        }
    )
}

/// The answers every test origin has for a fetcher's failures: `/big`
/// (200,000 bytes, over the tests' caps), `/slow` (after 30 s), `/stall`
/// (`stalledResponse`), `/missing` (404) and `/broken` (500).
public func addFailingRoutes(to router: Router<BasicRequestContext>) {
    router.get("big") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: [UInt8](repeating: 1, count: 200_000)))) }
    router.get("slow") { _, _ -> Response in
        try await Task.sleep(for: .seconds(30))
        return Response(status: .ok)
    }
    router.get("stall") { _, _ in stalledResponse() }
    router.get("missing") { _, _ in Response(status: .notFound) }
    router.get("broken") { _, _ in Response(status: .internalServerError) }
}
