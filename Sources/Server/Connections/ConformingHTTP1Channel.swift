import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Hummingbird's HTTP/1.1 channel, with the handlers that need the bytes
/// and the HTTP/1 message heads, which Hummingbird's own handlers (after
/// its conversion to HTTP types) never see: `RequestFramingHandler` in
/// front of the parser and the response encoder, `HTTP1ConformanceHandler`
/// between the parser and the conversion.
struct ConformingHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let base: HTTP1Channel
    /// The largest chunk a chunked body may announce: the body limit.
    let maxChunkSize: Int

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let maxChunkSize = self.maxChunkSize
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let framing = RequestFramingHandler(maxChunkSize: maxChunkSize)
            let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
            try pipeline.addHandler(framing, position: .before(encoder))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandler(HTTP1ConformanceHandler(framing: framing), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as `http1(configuration:)` serves it, with Calotype's
    /// conformance handlers (`ConformingHTTP1Channel`).
    static func conformingHTTP1(configuration: HTTP1Channel.Configuration, maxBodyBytes: Int) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ConformingHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: configuration), maxChunkSize: maxBodyBytes)
        }
    }
}
