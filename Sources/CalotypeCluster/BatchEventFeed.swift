import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Follows batches' event logs for this node's event streams: one
/// `LISTEN calotype_events` connection for the whole node wakes the
/// streams of a batch when it has new events, and every stream also looks
/// every `poll` on its own, so that a notification lost (the database
/// restarted, the connection dropped) delays an event, never loses it.
/// Events are always read from the log, from the last one a stream has
/// sent: a stream neither skips nor repeats one, whatever wakes it.
public final class BatchEventFeed: Sendable {
    public let log: BatchEventLog
    /// How often a stream looks at the log without being woken.
    public let poll: Duration
    /// The least time between two reads of one stream: a batch whose
    /// items end hundreds of times a second is read a page at a time, not
    /// an event at a time (each read is a statement, and a notification
    /// comes for nearly every item). An event waits this long at most.
    public let readInterval: Duration

    private struct Waiters {
        var byBatch: [UUID: [Int: WakeSignal]] = [:]
        var next = 0
        var closed = false
    }

    private let waiters = NIOLockedValueBox(Waiters())

    public init(log: BatchEventLog, poll: Duration = .seconds(1), readInterval: Duration = .milliseconds(20)) {
        self.log = log
        self.poll = poll
        self.readInterval = readInterval
    }

    /// Listens until cancelled, connecting again after a failure;
    /// `onListening` is told each time the `LISTEN` is in place, and
    /// `onEvent` each time a batch has new events that may come with work
    /// (a new batch's `queued`, a rescue), not for the progress of items
    /// already taken (`BatchSequencer.progressPayload`: with 128 nodes,
    /// waking every idle claim loop at every round made two claims an item)
    /// among them: the node's claim loop looks for work then).
    public func run(onListening: @escaping @Sendable () -> Void = {}, onEvent: @escaping @Sendable () -> Void = {}) async {
        let logger = log.logger
        while !Task.isCancelled {
            do {
                try await log.client.withConnection { connection in
                    try await connection.listen(on: BatchEventLog.channel) { notifications in
                        onListening()
                        for try await notification in notifications {
                            // "batch:last id"
                            if !notification.payload.hasSuffix(BatchSequencer.progressPayload) { onEvent() }
                            guard let batch = UUID(uuidString: String(notification.payload.prefix { $0 != ":" })) else { continue }
                            wake(batch)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "listening for batch events failed; streams poll until it is back",
                    metadata: ["error": "\(String(reflecting: error))"]
                )
            }
            try? await Task.sleep(for: poll)
        }
    }

    /// The events of `batch` after `lastEventID`, then new ones as they are
    /// logged, until its `complete` (or until `close()`: the node is
    /// stopping, and the client resumes elsewhere with `Last-Event-ID`).
    public func follow(_ batch: UUID, after lastEventID: Int) -> AsyncStream<BatchEventLog.Event> {
        let wakes = WakeSignal()
        let key = waiters.withLockedValue { waiters -> Int? in
            guard !waiters.closed else { return nil }
            let key = waiters.next
            waiters.next += 1
            waiters.byBatch[batch, default: [:]][key] = wakes
            return key
        }
        let (events, output) = AsyncStream.makeStream(of: BatchEventLog.Event.self)
        guard let key else {
            output.finish()
            return events
        }
        let (log, poll, readInterval) = (self.log, self.poll, self.readInterval)
        let task = Task {
            var last = lastEventID
            var lastRead: ContinuousClock.Instant?
            following: while !Task.isCancelled {
                if let lastRead, case let since = ContinuousClock.now - lastRead, since < readInterval {
                    try? await Task.sleep(for: readInterval - since)
                }
                lastRead = .now
                // Registered before reading: an event logged meanwhile wakes the next wait.
                let read: [BatchEventLog.Event]
                do {
                    read = try await log.events(of: batch, after: last)
                } catch {
                    // The stream waits and reads again; its client sees a pause, not an end.
                    log.logger.warning("reading a batch's events failed", metadata: ["batch": "\(batch)", "error": "\(String(reflecting: error))"])
                    read = []
                }
                for event in read {
                    output.yield(event)
                    last = event.id
                    if event.name == "complete" { break following }
                }
                if read.count == BatchEventLog.pageSize {
                    lastRead = nil  // More to read at once.
                    continue
                }
                if !(await wakes.wait(atMost: poll)) { break }
            }
            output.finish()
        }
        output.onTermination = { [weak self] _ in
            task.cancel()
            _ = self?.waiters.withLockedValue { $0.byBatch[batch]?.removeValue(forKey: key) }
            wakes.close()
        }
        return events
    }

    /// Ends every stream (the node is stopping) and refuses new ones.
    public func close() {
        let all = waiters.withLockedValue { waiters in
            waiters.closed = true
            defer { waiters.byBatch = [:] }
            return waiters.byBatch.values.flatMap(\.values)
        }
        for waiter in all { waiter.close() }
    }

    private func wake(_ batch: UUID) {
        let streams = waiters.withLockedValue { $0.byBatch[batch].map { Array($0.values) } ?? [] }
        for stream in streams { stream.signal() }
    }
}
