import NIOConcurrencyHelpers
import NIOCore

/// Who is waiting on which connection to close, so that work done for a
/// client stops when the client goes away (it would otherwise run to its
/// end, or to its deadline, for nobody).
///
/// `DepartureHandler` reports each connection's close; routes run their work
/// through `cancellingOnDeparture(of:_:)`. A registration lasts for one
/// request, so a kept-alive connection serving thousands of requests holds
/// none of them.
final class ClientDepartures: Sendable {
    private struct Waiter: Sendable {
        let token: UInt64
        let onDeparture: @Sendable () -> Void
    }

    private struct State {
        var next: UInt64 = 0
        var byConnection: [ObjectIdentifier: [Waiter]] = [:]
        /// Connections whose client has stopped sending (closed its side)
        /// while the connection is still open for the answer.
        var silenced: Set<ObjectIdentifier> = []
    }

    /// NIO's lock (a pthread mutex), which ThreadSanitizer understands.
    private let state = NIOLockedValueBox(State())

    /// Runs `operation` in a task of its own that is cancelled as soon as
    /// `channel` closes (or when the calling task is cancelled).
    func cancellingOnDeparture<T: Sendable>(
        of channel: any Channel,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await operation() }
        let connection = ObjectIdentifier(channel)
        let (token, alreadyGone) = state.withLockedValue { state in
            state.next += 1
            state.byConnection[connection, default: []].append(Waiter(token: state.next, onDeparture: { task.cancel() }))
            return (state.next, state.silenced.contains(connection))
        }
        defer {
            state.withLockedValue { state in
                state.byConnection[connection]?.removeAll { $0.token == token }
                if state.byConnection[connection]?.isEmpty == true { state.byConnection[connection] = nil }
            }
        }
        // Gone before the registration: the handler's report came too early to reach it.
        if alreadyGone || !channel.isActive { task.cancel() }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// A connection opened: whatever was noted of an earlier connection
    /// whose channel object had the same address is forgotten.
    /// `ObjectIdentifier` is an address, and a closed channel's address is
    /// soon a new one's: a stale `silenced` entry cancelled a new client's
    /// job at once (503 `cancelled` under a crowd with hang-ups).
    func arrived(_ channel: any Channel) {
        let connection = ObjectIdentifier(channel)
        state.withLockedValue { state in
            state.silenced.remove(connection)
            state.byConnection[connection] = nil
        }
    }

    /// The client closed its side of `channel` (`silenced`), or the
    /// connection closed: cancels the work registered on it.
    func departed(_ channel: any Channel, silenced: Bool) {
        let connection = ObjectIdentifier(channel)
        let leaving = state.withLockedValue { state in
            // An input closed on a channel already closed (NIO may report the
            // end of input after the close, when the server had shut its
            // output first) leaves nothing to note.
            if silenced && channel.isActive { state.silenced.insert(connection) } else { state.silenced.remove(connection) }
            return state.byConnection.removeValue(forKey: connection) ?? []
        }
        for waiter in leaving { waiter.onDeparture() }
    }
}

/// Tells `ClientDepartures` when its connection's client goes: when the
/// connection closes, or when the client closes its side of it (the server
/// allows half-closed connections, so a client's `close()` arrives as the
/// end of its input, not as a closed connection). As nginx does, a client
/// that stops sending while its request runs is taken to have left.
final class DepartureHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let departures: ClientDepartures

    init(departures: ClientDepartures) { self.departures = departures }

    func handlerAdded(context: ChannelHandlerContext) {
        departures.arrived(context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { departures.departed(context.channel, silenced: true) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        departures.departed(context.channel, silenced: false)
        context.fireChannelInactive()
    }
}
