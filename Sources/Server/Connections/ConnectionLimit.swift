import NIOCore
import NIOHTTPTypes
import Synchronization

/// How many connections are open, shared by every connection's handler.
final class ConnectionCounter: Sendable {
    let limit: Int
    private let open = Atomic(0)

    init(limit: Int) { self.limit = limit }

    var current: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection; false when it is one too many (it is not counted then).
    func admit() -> Bool {
        let after = open.wrappingAdd(1, ordering: .relaxed).newValue
        if after <= limit { return true }
        open.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() { open.wrappingSubtract(1, ordering: .relaxed) }
}

/// Caps concurrent connections (`CALOTYPE_MAX_CONNECTIONS`).
///
/// Every open connection costs a file descriptor and some memory even when
/// it sends nothing; without a cap, clients holding sockets open exhausted the
/// descriptor limit, after which `/health` itself was unreachable. A
/// connection over the cap gets a clear answer instead of silence: its first
/// request is answered 503 `too_many_connections` with `Retry-After`, and the
/// connection is closed. It never reaches a route. (Hummingbird's
/// `MaximumAvailableConnections` stops accepting instead, which leaves
/// clients waiting in the kernel's backlog with no answer.)
final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private var state = State.idle
    /// Closes a refused connection that never sends a request head.
    private var refusalTimer: Scheduled<Void>?

    private enum State { case idle, counted, refused, released }

    /// How long a refused connection may take to send its request head.
    static let refusalWait = TimeAmount.seconds(5)

    init(counter: ConnectionCounter) { self.counter = counter }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        if counter.admit() {
            state = .counted
        } else {
            state = .refused
            let channel = context.channel
            refusalTimer = context.eventLoop.scheduleTask(in: Self.refusalWait) { channel.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .refused = state else { return context.fireChannelRead(data) }
        // A refused connection reaches no route: answer its first head, drop the rest.
        guard case .head = unwrapInboundIn(data) else { return }
        refusalTimer?.cancel()
        refusalTimer = nil
        state = .released
        var error = APIError(
            .serviceUnavailable,
            .tooManyConnections,
            "the server has \(counter.limit) connections open, its limit; retry shortly"
        )
        error.headers[.retryAfter] = "1"
        error.writeAndClose(to: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        refusalTimer?.cancel()
        refusalTimer = nil
        if case .counted = state { counter.release() }
        state = .released
    }
}
