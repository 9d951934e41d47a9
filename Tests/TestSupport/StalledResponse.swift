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
