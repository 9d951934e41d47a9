import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

@testable import CalotypeCluster

@Suite("Cluster: rescuing expired leases", .serialized, .timeLimit(.minutes(3)))
struct LeaseRescuerTests {
    /// A node that dies holding an item: the rescuer (running on the
    /// survivors) puts it back until its attempts are spent, then ends it
    /// with its error event, so that the batch's stream still ends.
    @Test func aDeadNodesItemIsRequeuedThenEndsWithItsErrorEvent() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(1)
            let rescued = AsyncStream.makeStream(of: [WorkQueue.Expired].self)
            let rescuer = LeaseRescuer(
                queue: queue,
                interval: .milliseconds(20),
                maxAttempts: 2,
                observer: { rescued.continuation.yield($0) }
            )
            let running = Task { await rescuer.run() }
            var iterator = rescued.stream.makeAsyncIterator()
            // Each claim's lease ends at once: the node "dies" holding it.
            _ = try await queue.claimAll("dies-1", lease: .zero)
            #expect(await iterator.next()?.map(\.dead) == [false], "queued again")
            _ = try await queue.claimAll("dies-2", lease: .zero)
            #expect(await iterator.next()?.map(\.dead) == [true], "its attempts are spent")
            running.cancel()
            await running.value
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            let events = try await log.events(of: batch, after: 0)
            #expect(
                events.map(\.name) == ["progress", "progress", "progress", "error", "progress", "complete"],
                "queued, started by each claim, its error, done, and the batch's end"
            )
            #expect(events[3].data.contains(#""code":"attempts_exhausted""#))
            #expect(try await queue.counts() == ["dead": 1])
        }
    }

    /// Notes whose node stopped before their round (here: claims made
    /// without a claim loop, so no round follows them) are written as
    /// events by a rescuer's look once a look has seen them, and a look
    /// with no lease ended and no such note changes nothing.
    @Test func notesNoRoundTookAreSweptByALaterLook() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(2)
            let claims = try await queue.claimAll("stopped")
            #expect(claims.count == 2)
            let first = try await LeaseRescuer.Look.take(on: queue, notesUpTo: 0)
            #expect(!first.expired && first.strandedNotes.isEmpty, "nothing older than the last look")
            #expect(first.newestNote > 0)
            let second = try await LeaseRescuer.Look.take(on: queue, notesUpTo: first.newestNote)
            #expect(second.strandedNotes == [batch], "the notes the first look saw are still there")
            let heard = try await client.withConnection { connection in
                try await connection.listen(on: BatchEventLog.channel) { notifications in
                    let rescuer = LeaseRescuer(queue: queue, interval: .milliseconds(10), maxAttempts: 3)
                    let running = Task { await rescuer.run() }
                    var payload = ""
                    for try await notification in notifications where notification.payload.hasPrefix(batch.uuidString.lowercased()) {
                        payload = notification.payload
                        break
                    }
                    running.cancel()
                    await running.value
                    return payload
                }
            }
            #expect(heard == batch.uuidString.lowercased() + BatchSequencer.progressPayload)
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            #expect(
                try await log.events(of: batch, after: 0).map(\.name) == ["progress", "progress", "progress", "progress"],
                "queued twice, started twice"
            )
            #expect(try await LeaseRescuer.Look.take(on: queue, notesUpTo: .max).strandedNotes.isEmpty)
        }
    }

    @Test func twoRescuersAtOnceTakeTurns() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(5)
            _ = try await queue.claimAll("dies", lease: .zero)
            let rescuers = (0..<2).map { _ in LeaseRescuer(queue: queue, interval: .seconds(1), maxAttempts: 3) }
            let results = try await withThrowingTaskGroup(of: [WorkQueue.Expired]?.self) { group in
                for rescuer in rescuers { group.addTask { try await rescuer.rescueOnce() } }
                return try await group.reduce(into: [[WorkQueue.Expired]?]()) { $0.append($1) }
            }
            // Whether they overlapped or not, each item is rescued once.
            let items = results.compactMap { $0 }.flatMap { $0 }
            #expect(items.count == 5 && Set(items.map(\.index)).count == 5)
            #expect(try await queue.counts() == ["queued": 5])
        }
    }
}
