import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request that cannot be parsed as HTTP/1.1 with the API's JSON
/// error body (`400 malformed_request`) and closes the connection.
///
/// Hummingbird answers parse errors itself, with an empty body; every error
/// Calotype documents is JSON. When a response is already under way on the
/// connection (the error came mid-body), the error is passed on and
/// Hummingbird ends the connection as before.
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests whose head was read and whose response has not ended.
    private var unanswered = 0
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { unanswered += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered -= 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, unanswered == 0 else {
            return context.fireErrorCaught(error)
        }
        guard !answered else { return }
        answered = true
        APIError(.badRequest, .malformedRequest, "the request is not valid HTTP/1.1 (\(parseError))").writeAndClose(to: context)
    }
}
