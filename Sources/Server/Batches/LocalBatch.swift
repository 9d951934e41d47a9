import CalotypeCore
import Foundation
import NIOConcurrencyHelpers

/// A batch this process runs (`LocalBatchHost`): it runs on its own,
/// whoever listens, and keeps every event it emitted so that a client can
/// read the stream from the start or resume it after a reconnect, and every
/// item as it ended for its status.
///
/// Events are numbered from 1 in the order they happened; the numbers are
/// the SSE ids. Appending an event and subscribing take the same lock, so a
/// subscriber gets each event exactly once: those before it subscribed from
/// the log, the rest live.
final class LocalBatch: Sendable {
    struct LoggedEvent: Sendable {
        let id: Int
        /// The event as it goes on the wire, encoded once.
        var encoded: String
        /// A `result` carrying its bytes (`inline=true`, a request's own
        /// batch): the same event without them, which replaces it in the
        /// log once a listener has had it, so that the log does not keep
        /// every result's base64 copy.
        var slim: String?
    }

    private struct State {
        var events: [LoggedEvent] = []
        var items: [Int: APIBatchItem] = [:]
        var summary: APIBatchSummary?
        var cancelRequested = false
        var finishedAt: ContinuousClock.Instant?
        var listeners: [Int: AsyncStream<String>.Continuation] = [:]
        var nextListener = 0
        var task: Task<Void, Never>?

        var status: APIBatchStatus.State {
            guard summary != nil else { return .running }
            return cancelRequested ? .cancelled : .completed
        }
        var lastEventID: Int { events.last?.id ?? 0 }
    }

    let id: String
    let total: Int
    let lifetime: BatchSubmission.Lifetime
    /// The name of the tenant that posted it: only it (or `admin`) reads it.
    let owner: String
    let createdAt = Date()
    private let state = NIOLockedValueBox(State())

    init(id: String, total: Int, lifetime: BatchSubmission.Lifetime, owner: String) {
        self.id = id
        self.total = total
        self.lifetime = lifetime
        self.owner = owner
    }

    /// Starts `run` in a task of its own, not tied to the request that made it.
    func start(_ run: BatchRun, parallelism: Int) {
        let task = Task {
            let summary = await run.runEmittingEvents(
                parallelism: parallelism,
                ended: { [self] item in record(item) },
                emit: { [self] event in append(event) }
            )
            finish(summary)
            // Results stored early in a long batch would expire before it does.
            await run.results.renew(state.withLockedValue { $0.items.values.compactMap(\.resultID) })
        }
        state.withLockedValue { $0.task = task }
    }

    /// Cancels the items not finished yet and waits until the batch is over.
    func cancel() async {
        let task = state.withLockedValue { state -> Task<Void, Never>? in
            if state.summary == nil { state.cancelRequested = true }
            return state.task
        }
        task?.cancel()
        await task?.value
    }

    /// Waits until the batch is over.
    func wait() async {
        await state.withLockedValue { $0.task }?.value
    }

    var finishedAt: ContinuousClock.Instant? {
        state.withLockedValue { $0.finishedAt }
    }

    /// The status document of `GET /batches/{id}`.
    func snapshot(paths: BatchPaths) -> APIBatchStatus {
        state.withLockedValue { state in
            let items = state.items.values.sorted { $0.index < $1.index }
            return APIBatchStatus(
                batchID: id,
                status: state.status,
                total: total,
                completed: items.count,
                succeeded: items.count { $0.end == .succeeded },
                failed: items.count { $0.end == .failed },
                cancelled: state.summary?.cancelled ?? items.count { $0.end == .cancelled },
                durationMs: state.summary?.durationMs,
                createdAt: createdAt.formatted(.iso8601),
                eventsURL: paths.events,
                statusURL: paths.status,
                lastEventID: state.lastEventID,
                results: items
            )
        }
    }

    /// The stream of encoded events after event `lastEventID` (0: from the start).
    func subscribe(after lastEventID: Int) -> BatchEventStream {
        enum Registration {
            case unknown(Int)
            case nothingLeft, replayedToTheEnd
            case listening(Int)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let registration = state.withLockedValue { state -> Registration in
            let over = state.summary != nil
            if lastEventID > state.lastEventID { return .unknown(state.lastEventID) }
            if over, lastEventID == state.lastEventID { return .nothingLeft }
            for index in state.events.indices where state.events[index].id > lastEventID {
                continuation.yield(state.events[index].encoded)
                // Delivered: its inline bytes need not be kept.
                if let slim = state.events[index].slim {
                    state.events[index].encoded = slim
                    state.events[index].slim = nil
                }
            }
            if over {
                continuation.finish()
                return .replayedToTheEnd
            }
            let listener = state.nextListener
            state.nextListener += 1
            state.listeners[listener] = continuation
            return .listening(listener)
        }
        switch registration {
        case .unknown(let latest):
            continuation.finish()
            return .unknownEvent(latest: latest)
        case .nothingLeft:
            continuation.finish()
            return .finished
        case .replayedToTheEnd:
            return .events(stream, keepAlive: {})
        case .listening(let listener):
            // Set outside the lock: it takes the lock when the client goes away.
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.listeners.removeValue(forKey: listener) }
            }
            return .events(stream, keepAlive: { continuation.yield(ServerSentEvent.comment("keep-alive")) })
        }
    }

    private func append(_ event: APIBatchEvent) {
        // Encoded outside the lock (the scheduler's progress callbacks land
        // here); the id line goes in front once the lock has numbered it.
        let body = ServerSentEvent(event: event.name.rawValue, data: event.data).encoded
        var slimBody: String?
        if case .result(var item) = event, item.data != nil {
            item.data = nil
            slimBody = ServerSentEvent(event: event.name.rawValue, data: APIBatchEvent.result(item).data).encoded
        }
        state.withLockedValue { state in
            let id = state.events.count + 1
            let encoded = "id: \(id)\n" + body
            let slim = slimBody.map { "id: \(id)\n" + $0 }
            // With a listener it goes out at once, and only its slim form is kept.
            let delivered = !state.listeners.isEmpty
            state.events.append(LoggedEvent(id: id, encoded: delivered ? (slim ?? encoded) : encoded, slim: delivered ? nil : slim))
            if case .complete(let summary) = event {
                // Ended as of its last event: whoever reads the status on `complete` sees it so.
                state.summary = summary
                state.finishedAt = .now
            }
            for listener in state.listeners.values { listener.yield(encoded) }
        }
    }

    /// An item as it ended, whole (a result that could not be saved keeps
    /// its url beside its error), for the status; without its inline bytes,
    /// which the answer reads from the result store.
    private func record(_ item: APIBatchItem) {
        var item = item
        item.data = nil
        state.withLockedValue { $0.items[item.index] = item }
    }

    private func finish(_ summary: APIBatchSummary) {
        let listeners = state.withLockedValue { state in
            state.summary = summary
            state.finishedAt = .now
            defer { state.listeners = [:] }
            return state.listeners.values
        }
        // Outside the lock: finishing runs each stream's onTermination, which takes it.
        for listener in listeners { listener.finish() }
    }
}

/// Where a batch's status and events are.
struct BatchPaths: Sendable {
    let status: String
    let events: String

    init(id: String) {
        status = "/batches/\(id)"
        events = "/batches/\(id)/events"
    }
}
