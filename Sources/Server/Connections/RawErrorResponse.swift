import HTTPTypes
import NIOCore
import NIOHTTPTypes

extension APIError {
    /// Writes this error as a whole response from inside the channel
    /// pipeline, where no route runs (a refused connection, a request that
    /// could not be parsed), and closes the connection once it is sent.
    func writeAndClose(to context: ChannelHandlerContext) {
        var head = HTTPResponse(status: status)
        head.headerFields = headers
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(jsonBody.count)
        head.headerFields[.connection] = "close"
        context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(context.channel.allocator.buffer(bytes: jsonBody))), promise: nil)
        let sent = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: sent)
        let channel = context.channel
        sent.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}
