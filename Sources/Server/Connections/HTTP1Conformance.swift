import HTTPTypes
import NIOCore
import NIOHTTP1

/// The HTTP/1.1 rules that neither swift-nio's parser nor Hummingbird keeps,
/// kept where the request's HTTP version and raw header lines are still
/// known: between the parser and the conversion to Hummingbird's HTTP types.
///
/// - A request the server answers itself, without a route (RFC 9112 §3.2
///   and RFC 9110 §9.1): `CONNECT` (501 `not_implemented`: this server is no
///   proxy, and the connection cannot go on as HTTP), an HTTP/1.1 request
///   without `Host` or any request with two (400 `malformed_request`).
/// - A request that cannot be parsed (400 `malformed_request`; a method the
///   parser does not know on a well-formed request line, 501), and a chunk
///   refused by `RequestFramingHandler`: answered with the API's JSON error
///   when no answer to it has begun, in place of the route's.
/// - HTTP/1.0: the connection is kept only when the request asks for it
///   (`Connection: keep-alive`), and a response of unknown length goes out as
///   HTTP/1.0, delimited by the connection's close (never chunked).
///
/// Every answer given here, and every answer to a request that ends the
/// connection (`Connection: close`, HTTP/1.0), carries `Connection: close`,
/// and the connection is closed once it is sent. The close is a lingering
/// one: the server stops sending and drops what still arrives, so that a
/// client still sending does not get a reset in place of the answer, and
/// closes fully when the client does or after `linger`. Answers go out in
/// the order of the requests; what the application writes for a request
/// answered here is dropped.
final class HTTP1ConformanceHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// How long a closed connection waits for its client to close its side.
    static let linger = TimeAmount.seconds(2)

    /// An answer written here rather than by a route.
    private struct Answer {
        var error: APIError
        /// Written past the response encoder, which frames any response to
        /// `CONNECT` without a body.
        var pastTheEncoder = false
        var requestID = RequestID.generate()
    }

    /// A request read and not yet answered.
    private struct Exchange {
        var version: HTTPVersion
        /// The connection closes once this request is answered.
        var closeAfter: Bool
        /// The request's own `X-Request-ID`, for an answer given here.
        var clientRequestID: String? = nil
        /// Set when this handler answers the request rather than the application.
        var answer: Answer?
        var responseStarted = false
    }

    private let framing: RequestFramingHandler
    /// The requests read and not yet answered, oldest first.
    private var exchanges = CircularBuffer<Exchange>()
    /// The application has the newest request's head and not yet its end.
    private var reading = false
    /// No more requests are read: the connection closes after the answers due.
    private var closing = false
    private var outputClosed = false
    private var lingerTimer: Scheduled<Void>?

    init(framing: RequestFramingHandler) {
        self.framing = framing
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard !closing else { return }
            let clientRequestID = head.headers[RequestID.headerName].first
            if let refusal = Self.refusal(of: head) {
                let answer = Answer(
                    error: refusal,
                    pastTheEncoder: head.method == .CONNECT,
                    requestID: RequestID.forRequest(carrying: clientRequestID)
                )
                exchanges.append(Exchange(version: head.version, closeAfter: true, answer: answer))
                stopReading()
                writeAnswerIfDue(context: context)
                return
            }
            exchanges.append(Exchange(version: head.version, closeAfter: !head.isKeepAlive, clientRequestID: clientRequestID))
            reading = true
            context.fireChannelRead(data)
        case .body:
            guard reading else { return }
            context.fireChannelRead(data)
        case .end:
            guard reading else { return }
            reading = false
            // A request that ends the connection is the last one read.
            if exchanges.last?.closeAfter == true { stopReading() }
            context.fireChannelRead(data)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !closing else { return }  // Answered already; what follows is not read.
        let answer =
            if parseError == .invalidMethod, let method = framing.methodOfWellFormedRequestLine {
                APIError(.notImplemented, .notImplemented, "\(method) is not a method this server implements on any path")
            } else {
                APIError(.badRequest, .malformedRequest, "the request is not valid HTTP/1.1 (\(parseError))")
            }
        // The application, when it is reading the request, learns that its body broke.
        if refuseRequestInFlight(answer, context: context) { context.fireErrorCaught(error) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let refusal = event as? RequestFramingHandler.Refusal {
            guard !closing else { return }
            if refuseRequestInFlight(refusal.error, context: context) { context.fireErrorCaught(HTTPParserError.invalidChunkSize) }
            return
        }
        // The output closed here: the application's writes are dropped here
        // rather than failed, so it ends its side as after any answer.
        if outputClosed, case .outputClosed? = event as? ChannelEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        lingerTimer?.cancel()
        lingerTimer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lingerTimer?.cancel()
        lingerTimer = nil
    }

    /// What makes a request one the server answers itself, from its head.
    private static func refusal(of head: HTTPRequestHead) -> APIError? {
        if head.method == .CONNECT {
            return APIError(.notImplemented, .notImplemented, "CONNECT asks for a tunnel through a proxy; this server is not one")
        }
        let hosts = head.headers["Host"].count
        if hosts > 1 {
            return APIError(.badRequest, .malformedRequest, "the request has \(hosts) Host headers; it may have one (RFC 9112, section 3.2)")
        }
        if hosts == 0, head.version.major > 1 || head.version.minor >= 1 {
            return APIError(.badRequest, .malformedRequest, "an HTTP/1.1 request must have a Host header (RFC 9112, section 3.2)")
        }
        return nil
    }

    /// Answers `error` to the request being read, in place of the
    /// application, when no answer to it has begun (or, between requests, to
    /// the request that could not be read), and stops reading; true when the
    /// application has that request and should learn it broke.
    private func refuseRequestInFlight(_ error: APIError, context: ChannelHandlerContext) -> Bool {
        defer { writeAnswerIfDue(context: context) }
        guard reading else {
            exchanges.append(Exchange(version: .http1_1, closeAfter: true, answer: Answer(error: error)))
            stopReading()
            return false
        }
        stopReading()
        guard let newest = exchanges.indices.last else {
            // Answered already, before its body was read: nothing more to say.
            closeConnection(context: context)
            return true
        }
        exchanges[newest].closeAfter = true
        if !exchanges[newest].responseStarted {
            exchanges[newest].answer = Answer(error: error, requestID: RequestID.forRequest(carrying: exchanges[newest].clientRequestID))
        }
        return true
    }

    /// No more requests are read.
    private func stopReading() {
        closing = true
        reading = false
        framing.stopReading()
    }

    // MARK: Answers

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let first = exchanges.first, first.answer == nil else {
            // A request answered here (or none at all): the application's answer is not sent.
            promise?.succeed(())
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            // An interim answer (100 Continue) is not the answer.
            if (100..<200).contains(head.status.code), head.status.code != 101 { return context.write(data, promise: promise) }
            let closeAfter = prepare(&head, for: first)
            exchanges[exchanges.startIndex].closeAfter = closeAfter
            exchanges[exchanges.startIndex].responseStarted = true
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            exchanges.removeFirst()
            if first.closeAfter {
                context.writeAndFlush(data, promise: promise)
                closeConnection(context: context)
            } else {
                context.write(data, promise: promise)
                writeAnswerIfDue(context: context)
            }
        }
    }

    /// Fits the application's response head to its request; whether the
    /// connection closes after it.
    private func prepare(_ head: inout HTTPResponseHead, for exchange: Exchange) -> Bool {
        var closeAfter = exchange.closeAfter || head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        if exchange.version == .http1_0 {
            let hasBody = !(head.status.code == 204 || head.status.code == 304 || (100..<200).contains(head.status.code))
            if hasBody && !head.headers.contains(name: "content-length") {
                // HTTP/1.0 knows no chunks: the body ends where the connection does.
                head.version = .http1_0
                head.headers.remove(name: "Transfer-Encoding")
                closeAfter = true
            }
            if !closeAfter { head.headers.replaceOrAdd(name: "Connection", value: "keep-alive") }
        }
        if closeAfter { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        return closeAfter
    }

    /// Writes the answer given here to the oldest request, when that request has one.
    private func writeAnswerIfDue(context: ChannelHandlerContext) {
        guard let first = exchanges.first, let answer = first.answer else { return }
        exchanges.removeFirst()
        let error = answer.error
        let body = error.jsonBody
        var headers = HTTPHeaders(error.headers.map { ($0.name.rawName, $0.value) })
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        headers.replaceOrAdd(name: RequestID.headerName, value: answer.requestID)
        let status = HTTPResponseStatus(statusCode: error.status.code, reasonPhrase: error.status.reasonPhrase)
        if answer.pastTheEncoder {
            var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            framing.writeRaw(Array("\(text)\r\n".utf8) + body, promise: nil)
        } else {
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        closeConnection(context: context)
    }

    /// Stops sending once what is written has gone, drops what arrives, and
    /// closes fully when the client closes its side or after `linger`.
    private func closeConnection(context: ChannelHandlerContext) {
        stopReading()
        guard !outputClosed else { return }
        outputClosed = true
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        lingerTimer = context.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
    }
}
