import NIOConcurrencyHelpers
import NIOCore

/// Who is waiting on which connection's client to leave, so that work done
/// for a client stops when the client goes away (it would otherwise run to
/// its end, or to its deadline, for nobody).
///
/// `DepartureHandler` reports each connection's close; work waits through
/// `departure(of:)`, or runs through `cancellingOnDeparture(of:_:)`, both
/// structured (the waiter is a child of the work's task group). A wait
/// lasts for one request, so a kept-alive connection serving thousands of
/// requests holds none of them.
///
/// Why not Hummingbird's `RequestBody.consumeWithCancellationOnInboundClose`:
/// it reads the connection's request parts itself and stops reading when
/// the answer ends, which closes the connection. A kept-alive client's next
/// request then finds it closed, unannounced (tried on Hummingbird 2.28: the
/// second `POST` on a connection got no answer). `/process` and `/img` live
/// on kept-alive connections (CDNs, proxies), so departures are seen here,
/// beside the connection, without consuming it.
final class ClientDepartures: Sendable {
    private struct State {
        var next: UInt64 = 0
        var waiting: [ObjectIdentifier: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Connections whose client has stopped sending (closed its side)
        /// while the connection is still open for the answer.
        var silenced: Set<ObjectIdentifier> = []
    }

    /// NIO's lock (a pthread mutex), which ThreadSanitizer understands.
    private let state = NIOLockedValueBox(State())

    /// Returns once the client of `channel` has gone (at once if it has
    /// already), or once the calling task is cancelled.
    func departure(of channel: any Channel) async {
        let connection = ObjectIdentifier(channel)
        let token = state.withLockedValue { state in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Under the lock: a departure or a cancellation reported
                // before this registration is seen here, one after finds it.
                let gone = state.withLockedValue { state in
                    if Task.isCancelled || state.silenced.contains(connection) || !channel.isActive { return true }
                    state.waiting[connection, default: [:]][token] = continuation
                    return false
                }
                if gone { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                defer { if state.waiting[connection]?.isEmpty == true { state.waiting[connection] = nil } }
                return state.waiting[connection]?.removeValue(forKey: token)
            }
            waiter?.resume()
        }
    }

    /// Runs `operation`, cancelled as soon as the client of `channel` goes
    /// (`CancellationError`), or when the calling task is cancelled.
    func cancellingOnDeparture<T: Sendable>(
        of channel: any Channel,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                await self.departure(of: channel)
                return nil
            }
            defer { group.cancelAll() }
            // The first to end: the operation's value or error, or the departure.
            guard case .some(.some(let value)) = try await group.next() else { throw CancellationError() }
            return value
        }
    }

    /// A connection opened: whatever was noted of an earlier connection
    /// whose channel object had the same address is forgotten.
    /// `ObjectIdentifier` is an address, and a closed channel's address is
    /// soon a new one's: a stale `silenced` entry cancelled a new client's
    /// job at once (503 `cancelled` under a crowd with hang-ups).
    func arrived(_ channel: any Channel) {
        let connection = ObjectIdentifier(channel)
        let stale = state.withLockedValue { state in
            state.silenced.remove(connection)
            return state.waiting.removeValue(forKey: connection) ?? [:]
        }
        for waiter in stale.values { waiter.resume() }
    }

    /// The client closed its side of `channel` (`silenced`), or the
    /// connection closed: wakes whoever waits on it.
    func departed(_ channel: any Channel, silenced: Bool) {
        let connection = ObjectIdentifier(channel)
        let leaving = state.withLockedValue { state in
            // An input closed on a channel already closed (NIO may report the
            // end of input after the close, when the server had shut its
            // output first) leaves nothing to note.
            if silenced && channel.isActive { state.silenced.insert(connection) } else { state.silenced.remove(connection) }
            return state.waiting.removeValue(forKey: connection) ?? [:]
        }
        for waiter in leaving.values { waiter.resume() }
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
