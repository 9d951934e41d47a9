import CalotypeCluster
import CalotypeCore
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// A batch's life in the database: its events worded and numbered as the
/// items change, a cancel that reaches running items, retries of a node's
/// faults, the feed that follows the log, and forgetting old batches.
@Suite("Cluster: a batch's life", .serialized, .timeLimit(.minutes(3)))
struct BatchLifecycleTests {
    static func item(_ claim: WorkQueue.Claim, error: APIErrorCode? = nil) -> APIBatchItem {
        APIBatchItem(
            batchID: claim.batchID.uuidString.lowercased(),
            index: claim.index,
            filename: claim.name,
            status: error == nil ? .ok : .error,
            error: error.map { APIErrorDetail(code: $0, message: "test") }
        )
    }

    /// An item's end as a node records it (one statement), and the round
    /// that writes its batch's events, as the node's sequencer runs it.
    static func finish(_ queue: WorkQueue, _ claim: WorkQueue.Claim, error: APIErrorCode? = nil) async throws -> Bool {
        let end = ItemEnd(state: error == nil ? .succeeded : .failed, item: item(claim, error: error))
        let finished = try await queue.finish(claim, end, outcome: "{}")
        _ = try await BatchSequencer.round(claim.batchID, client: queue.client, logger: queue.logger)
        return finished
    }

    @Test func theLastEndingItemWritesCompleteWithTheCounts() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(3)
            // Each claim notes its item's start: its `started` comes with the first round.
            let claims = try await queue.claimAll("node")
            #expect(try await Self.finish(queue, claims[0]))
            #expect(try await Self.finish(queue, claims[1], error: .corruptImage))
            #expect(try await queue.batch(batch)?.state == "running")
            #expect(try await Self.finish(queue, claims[2]))
            let record = try #require(try await queue.batch(batch, withItems: true))
            #expect(record.state == "completed" && record.succeeded == 2 && record.failed == 1 && record.durationMs != nil)
            let log = BatchEventLog(client: client, logger: queue.logger)
            try expectEventContract(try await log.events(of: batch, after: 0), total: 3, succeeded: 2, failed: 1)
        }
    }

    /// A cancel ends queued and running items at once, with their events
    /// and `complete`; the running item's node loses its lease at its next
    /// heartbeat, and its late finish is refused.
    @Test func aCancelEndsQueuedAndRunningItems() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(4)
            let running = try #require(try await queue.claim(owner: "node", policy: .init(pools: [.cpu]), limit: 1, lease: .seconds(60)).first)
            #expect(try await queue.cancel(batch))
            #expect(try await queue.heartbeat(owner: "node", tokens: [running.token], lease: .seconds(60)).isEmpty, "its lease is gone")
            #expect(try await Self.finish(queue, running) == false, "the late finish is refused")
            let record = try #require(try await queue.batch(batch, withItems: true))
            #expect(record.state == "cancelled" && record.cancelled == 4 && record.items.count == 4)
            #expect(record.items.allSatisfy { $0.error?.code == .cancelled })
            let log = BatchEventLog(client: client, logger: queue.logger)
            try expectEventContract(try await log.events(of: batch, after: 0), total: 4, succeeded: 0, cancelled: 4)
            #expect(try await queue.cancel(batch), "a second cancel finds it over")
            #expect(try await queue.cancel(UUID()) == false, "no such batch")
        }
    }

    /// A node's fault goes back to the queue (a device fault to the CPU
    /// pool), its attempt counted; after the last attempt it ends `failed`.
    @Test func aNodesFaultIsRetriedThenFinal() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(1, pool: .gpu)
            let worker = ClusterWorker(
                queue: queue,
                configuration: .init(owner: "gpu-node", policy: .init(pools: [.gpu, .cpu]), workers: 1, idlePoll: .milliseconds(20), maxAttempts: 2),
                observer: { _ in }
            ) { claim in
                ClusterWorker.Finished(.retry(in: .cpu), item: Self.item(claim, error: .backendFault))
            }
            let running = Task { try await worker.run() }
            let log = BatchEventLog(client: client, logger: queue.logger)
            let feed = BatchEventFeed(log: log, poll: .milliseconds(50))
            var names: [String] = []
            for await event in feed.follow(batch, after: 0) { names.append(event.name) }
            running.cancel()
            try await running.value
            #expect(names == ["progress", "progress", "progress", "error", "progress", "complete"], "queued, started twice, its error, done")
            let record = try #require(try await queue.batch(batch, withItems: true))
            #expect(record.failed == 1 && record.items.first?.error?.code == .backendFault, "final after its last attempt")
            let pool = try await client.query("SELECT pool, attempts FROM calotype_items WHERE batch_id = \(batch)", logger: queue.logger)
            for try await (pool, attempts) in pool.decode((String, Int).self) {
                #expect(pool == "cpu" && attempts == 2, "moved to the CPU pool, both attempts counted")
            }
        }
    }

    /// The feed replays the log, then follows it live (woken by NOTIFY),
    /// and ends at `complete`; `close()` ends the streams of a stopping node.
    @Test func theFeedReplaysThenFollowsToComplete() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(2)
            let log = BatchEventLog(client: client, logger: queue.logger)
            // A poll far longer than the test: only NOTIFY can wake it in time.
            let feed = BatchEventFeed(log: log, poll: .seconds(3600))
            let (up, listeningNow) = AsyncStream.makeStream(of: Void.self)
            let listening = Task { await feed.run(onListening: { listeningNow.yield() }) }
            for await _ in up { break }
            let claims = try await queue.claimAll("node")
            let stream = feed.follow(batch, after: 1)
            var iterator = stream.makeAsyncIterator()
            #expect(await iterator.next()?.id == 2, "replayed from Last-Event-ID")
            var seen: [Int] = []
            let finisher = Task {
                for claim in claims { _ = try await Self.finish(queue, claim) }
            }
            while let event = await iterator.next() {
                seen.append(event.id)
            }
            try await finisher.value
            #expect(seen == Array(3...9), "started, started (the claims' notes), result, done, result, done, complete: live, in order, to the end")

            let open = feed.follow(try await queue.batch(1), after: 0)
            feed.close()
            var after = 0
            for await _ in open { after += 1 }
            #expect(after <= 1, "closed: the stream ends")
            listening.cancel()
            await listening.value
        }
    }

    @Test func batchesAreForgottenAfterTheirLifetime() async throws {
        try await withDatabase { _, queue in
            let batch = try await queue.batch(1)
            let claim = try #require(try await queue.claimAll("node").first)
            #expect(try await Self.finish(queue, claim))
            let running = try await queue.batch(1)
            #expect(try await queue.forgetBatches(endedBefore: .seconds(3600)) == 0, "ended just now")
            #expect(try await queue.forgetBatches(endedBefore: .zero) == 1)
            let gone = try await queue.batch(batch) == nil
            let kept = try await queue.batch(running) != nil
            #expect(gone && kept, "only the ended batch is gone")
        }
    }
}
