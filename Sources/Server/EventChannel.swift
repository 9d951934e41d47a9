import CalotypeCore
import Foundation
import NIOConcurrencyHelpers

/// The single queue of a streamed response: items, progress callbacks and the
/// keep-alive timer all send here, one writer drains it. Ids are assigned
/// under the same lock as the send, so they increase in stream order.
final class EventChannel: Sendable {
    private let state: NIOLockedValueBox<(nextID: Int, continuation: AsyncStream<String>.Continuation)>
    let stream: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        self.stream = stream
        self.state = NIOLockedValueBox((1, continuation))
    }

    func send(_ event: APIBatchEvent) {
        let data = event.data
        state.withLockedValue { state in
            let text = ServerSentEvent(id: String(state.nextID), event: event.name.rawValue, data: data).encoded
            state.nextID += 1
            _ = state.continuation.yield(text)
        }
    }

    func comment(_ text: String) {
        state.withLockedValue { _ = $0.continuation.yield(ServerSentEvent.comment(text)) }
    }

    func finish() {
        state.withLockedValue { $0.continuation.finish() }
    }
}
