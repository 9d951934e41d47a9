import CalotypeCluster
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

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
