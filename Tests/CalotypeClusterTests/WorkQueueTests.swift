import CalotypeCluster
import CalotypeCore
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// A fresh database on the test process's PostgreSQL, migrated, with a
/// client running for the length of `body`.
func withDatabase(_ body: @escaping @Sendable (PostgresClient, WorkQueue) async throws -> Void) async throws {
    let url = try await PostgreSQLServer.shared().newDatabase()
    let client = PostgresClient(
        configuration: try ClusterDatabase.configuration(url: url + "?sslmode=disable"),
        backgroundLogger: Logger(label: "test")
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        try await ClusterSchema.migrate(client, logger: Logger(label: "test"))
        try await body(client, WorkQueue(client: client, logger: Logger(label: "test")))
        group.cancelAll()
    }
}

extension WorkQueue {
    /// A batch of `count` items in `pool`, enqueued; returns its id.
    func batch(_ count: Int, pool: Pool = .cpu) async throws -> UUID {
        let batch = NewBatch(recipeJSON: #"{"ops":[]}"#)
        try await enqueue(batch, items: (0..<count).map { NewItem(source: "s3://in/\($0).jpg", pool: pool) })
        return batch.id
    }

    /// One statement of the node `owner`'s: its `ends`, up to `limit`
    /// claims from the CPU pool, and a look at the notes it `handedOff`.
    func exchange(
        _ owner: String,
        ends: [EndNote] = [],
        limit: Int = 1,
        handedOff: [(batch: UUID, seq: Int)] = []
    ) async throws -> Exchange {
        try await endAndClaim(ends, owner: owner, policy: ClaimPolicy(pools: [.cpu]), limit: limit, lease: .seconds(60), handedOff: handedOff)
    }

    func claimAll(_ owner: String, pools: [Pool] = [.cpu], lease: Duration = .seconds(60)) async throws -> [Claim] {
        try await claim(owner: owner, policy: ClaimPolicy(pools: pools), limit: 1000, lease: lease)
    }
}

@Suite("Cluster: the shared queue", .serialized, .timeLimit(.minutes(3)))
struct WorkQueueTests {
    @Test func migrationsApplyOnceWhenNodesStartTogether() async throws {
        let url = try await PostgreSQLServer.shared().newDatabase()
        let client = PostgresClient(
            configuration: try ClusterDatabase.configuration(url: url + "?sslmode=disable"),
            backgroundLogger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let applied = try await withThrowingTaskGroup(of: [Int].self) { starts in
                for _ in 0..<4 { starts.addTask { try await ClusterSchema.migrate(client, logger: Logger(label: "test")) } }
                return try await starts.reduce(into: [[Int]]()) { $0.append($1) }
            }
            #expect(applied.filter { !$0.isEmpty } == [Array(1...ClusterSchema.latestVersion)], "one start applies, the others find it done")
            #expect(try await ClusterSchema.migrate(client, logger: Logger(label: "test")).isEmpty)
            group.cancelAll()
        }
    }

    /// Tenants take turns in the queue: a tenant's small batch posted after
    /// another's 300 items is claimed alongside them, not after them; a
    /// tenant that posts again goes after its own queued items; and one that
    /// comes back later starts at the queue's oldest turn, not before it.
    @Test func tenantsTakeTurnsInTheQueue() async throws {
        try await withDatabase { _, queue in
            func post(_ count: Int, by owner: String) async throws -> UUID {
                let batch = WorkQueue.NewBatch(recipeJSON: #"{"ops":[]}"#, owner: owner)
                try await queue.enqueue(batch, items: (0..<count).map { WorkQueue.NewItem(source: "s3://in/\(owner)\($0).jpg", pool: .cpu) })
                return batch.id
            }
            func claim(_ count: Int) async throws -> [WorkQueue.Claim] {
                try await queue.claim(owner: "node", policy: .init(pools: [.cpu]), limit: count, lease: .seconds(60))
            }
            let bulk = try await post(300, by: "bulk")
            let web = try await post(3, by: "web")
            // Claimed one at a time, as free workers take them.
            var order: [UUID] = []
            for _ in 0..<6 { order += try await claim(1).map(\.batchID) }
            #expect(order == [bulk, web, bulk, web, bulk, web], "the two tenants alternate")
            // web again: after its own queued items, none left, so at the queue's oldest turn.
            let webAgain = try await post(2, by: "web")
            order = []
            for _ in 0..<4 { order += try await claim(1).map(\.batchID) }
            #expect(order == [bulk, webAgain, bulk, webAgain])
            // A third tenant, back after 300 turns were given: it does not take them all at once.
            let late = try await post(2, by: "late")
            order = []
            for _ in 0..<4 { order += try await claim(1).map(\.batchID) }
            #expect(order.filter { $0 == late }.count == 2 && order.filter { $0 == bulk }.count == 2, "\(order)")
        }
    }

    @Test func concurrentClaimersNeverTakeTheSameItem() async throws {
        try await withDatabase { _, queue in
            let batch = try await queue.batch(200)
            let claims = try await withThrowingTaskGroup(of: [WorkQueue.Claim].self) { group in
                for node in 0..<4 {
                    group.addTask {
                        var mine: [WorkQueue.Claim] = []
                        while true {
                            let claimed = try await queue.claim(owner: "node-\(node)", policy: .init(pools: [.cpu]), limit: 7, lease: .seconds(60))
                            if claimed.isEmpty { return mine }
                            mine += claimed
                        }
                    }
                }
                return try await group.reduce(into: [WorkQueue.Claim]()) { $0 += $1 }
            }
            #expect(claims.count == 200 && Set(claims.map(\.index)) == Set(0..<200))
            #expect(Set(claims.map(\.token)).count == 200, "a fresh token per claim")
            #expect(claims.allSatisfy { $0.batchID == batch && $0.attempts == 1 })
            #expect(try await queue.counts() == ["running": 200])
        }
    }

    /// A node that stalls past its lease (its item rescued and claimed
    /// again) cannot finish the item when it wakes: its token is stale.
    @Test func aLateNodesResultIsRefusedByItsToken() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(1)
            let stalled = try #require(try await queue.claimAll("frozen", lease: .zero).first)
            let rescued = try #require(try await queue.expireLeases(maxAttempts: 3))
            #expect(rescued.map(\.dead) == [false])
            let again = try #require(try await queue.claimAll("healthy").first)
            #expect(again.attempts == 2 && again.token != stalled.token)
            #expect(try await queue.heartbeat(owner: "frozen", tokens: [stalled.token], lease: .seconds(60)).isEmpty, "its lease is gone")
            #expect(try await queue.finish(stalled, stalled.success, outcome: "{}") == false)
            #expect(try await stalled.notedEnds(queue) == 0, "nothing is noted (so nothing counted) for a stale token")
            #expect(try await queue.finish(again, again.success, outcome: "{}"))
            #expect(try await queue.finish(again, again.success, outcome: "{}") == false, "finished once")
            #expect(try await again.notedEnds(queue) == 1)
            #expect(try await queue.counts() == ["succeeded": 1])
        }
    }

    @Test func anItemThatKeepsLosingItsNodeEndsDead() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(1)
            var ends: [[WorkQueue.Expired]] = []
            for _ in 0..<3 {
                _ = try await queue.claimAll("dies", lease: .zero)
                ends.append(try #require(try await queue.expireLeases(maxAttempts: 3)))
            }
            #expect(ends.map { $0.map(\.dead) } == [[false], [false], [true]])
            #expect(try await queue.claimAll("next").isEmpty, "a dead item is not claimed")
            #expect(try await queue.counts() == ["dead": 1])
        }
    }

    @Test func oneNodeAtATimeRescues() async throws {
        try await withDatabase { _, queue in
            let inside = AsyncStream.makeStream(of: Void.self)
            let leave = AsyncStream.makeStream(of: Void.self)
            let first = Task {
                try await queue.expireLeases(maxAttempts: 3) { _, _ in
                    inside.continuation.yield()
                    for await _ in leave.stream { break }
                }
            }
            for await _ in inside.stream { break }
            let second = try await queue.expireLeases(maxAttempts: 3)
            #expect(second == nil, "the lock is held: not the leader")
            leave.continuation.yield()
            let firstResult = try await first.value
            #expect(firstResult != nil)
        }
    }

    @Test func gpuItemsGoToGPUNodesFirstAndToCPUNodesOnlyAfterTheirWait() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(3, pool: .gpu)
            _ = try await queue.batch(3, pool: .cpu)
            let gpu = try await queue.claim(owner: "gpu-node", policy: .init(pools: [.gpu, .cpu]), limit: 4, lease: .seconds(60))
            #expect(gpu.filter { $0.pool == .gpu }.count == 3 && gpu.count == 4, "its own pool first, then the rest")
            #expect(try await queue.claim(owner: "cpu-node", policy: .init(pools: [.cpu]), limit: 10, lease: .seconds(60)).count == 2)
            _ = try await queue.batch(2, pool: .gpu)
            #expect(try await queue.claim(owner: "cpu-node", policy: .init(pools: [.cpu]), limit: 10, lease: .seconds(60)).isEmpty)
            let late = try await queue.claim(owner: "cpu-node", policy: .init(pools: [.cpu], othersAfter: .zero), limit: 10, lease: .seconds(60))
            #expect(late.map(\.pool) == [.gpu, .gpu], "waiting GPU items are taken by a CPU node after its wait")
        }
    }

    @Test func aReleasedItemIsQueuedAgainWithoutCountingTheAttempt() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(2)
            let claims = try await queue.claimAll("draining")
            try await queue.release(claims)
            let again = try await queue.claimAll("other")
            #expect(again.count == 2 && again.allSatisfy { $0.attempts == 1 })
        }
    }

    @Test func nodesAndWhatWaitsForEachPoolAreCounted() async throws {
        try await withDatabase { _, queue in
            try await queue.register(node: "gpu-1", cpuWorkers: 1, gpuWorkers: 2)
            try await queue.register(node: "cpu-1", cpuWorkers: 4, gpuWorkers: 0)
            _ = try await queue.batch(3, pool: .gpu)
            _ = try await queue.batch(5, pool: .cpu)
            #expect(try await queue.queued() == [.gpu: 3, .cpu: 5])
            _ = try await queue.claim(owner: "cpu-1", policy: .init(pools: [.cpu]), limit: 2, lease: .seconds(60))
            #expect(try await queue.queued() == [.gpu: 3, .cpu: 3])
            let nodes = try await queue.nodes()
            #expect(nodes.map(\.name) == ["cpu-1", "gpu-1"] && nodes.map(\.running) == [2, 0])
            #expect(nodes[1].gpuWorkers == 2 && nodes.allSatisfy { $0.silentSeconds < 60 })
            // The autoscaler's query, as documented, gives the same count.
            let sql = WorkQueue.queuedItemsQuery.replacingOccurrences(of: "$POOL", with: "gpu")
            var counted = 0
            for try await count in try await queue.client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { counted = count }
            #expect(counted == 3)
        }
    }

    @Test func databaseURLsAreReadOrRefusedByName() throws {
        let configuration = try ClusterDatabase.configuration(url: "postgres://calotype:s%40cret@db.example:6432/calotype?sslmode=require")
        #expect(configuration.host == "db.example" && configuration.port == 6432 && configuration.username == "calotype")
        #expect(configuration.password == "s@cret" && configuration.database == "calotype")
        for bad in ["mysql://u@h/db", "postgres:///db", "postgres://h/db", "postgres://u@h/db?sslmode=verify-full"] {
            #expect(throws: ClusterError.self, "\(bad)") { try ClusterDatabase.configuration(url: bad) }
        }
    }
}

@Suite("Cluster: the event log", .serialized, .timeLimit(.minutes(3)))
struct BatchEventLogTests {
    @Test func concurrentAppendsAreNumberedWithoutGapsAndAnnounced() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(1)
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            let heard = try await client.withConnection { connection in
                try await connection.listen(on: BatchEventLog.channel) { notifications in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for writer in 0..<8 {
                            group.addTask {
                                for event in 0..<25 {
                                    try await log.append([(name: "progress", data: #"{"writer":\#(writer),"n":\#(event)}"#)], to: batch)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    var payloads: [String] = []
                    for try await notification in notifications {
                        payloads.append(notification.payload)
                        if payloads.count == 200 { break }
                    }
                    return payloads
                }
            }
            // Event 1 is the item's `queued`, written with the batch.
            let events = try await log.events(of: batch, after: 0)
            #expect(events.map(\.id) == Array(1...201))
            #expect(Set(heard) == Set((2...201).map { "\(batch.uuidString.lowercased()):\($0)" }))
            #expect(try await log.events(of: batch, after: 150).map(\.id) == Array(151...201), "a replay from Last-Event-ID")
        }
    }

    /// An item's end and its note are one statement: the note (and so its
    /// events, written by the batch's next round) exists if and only if
    /// the item ended; an end refused by its token leaves neither.
    @Test func anItemsEventsComeWithItsEndOrNotAtAll() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(2)
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            let claims = try await queue.claimAll("node")
            #expect(try await queue.finish(claims[0], claims[0].success, outcome: "{}"))
            var stale = claims[1]
            stale.token = UUID()
            #expect(try await queue.finish(stale, stale.success, outcome: "{}") == false)
            #expect(try await BatchSequencer.round(batch, client: client, logger: queue.logger) == 3, "two starts and one end noted")
            let names = try await log.events(of: batch, after: 2).map(\.name)
            #expect(names == ["progress", "progress", "result", "progress"], "after the items' queued: both started, one result and its done")
            #expect(try await queue.counts() == ["succeeded": 1, "running": 1], "the refused end changed nothing")
            #expect(try await queue.batch(batch)?.succeeded == 1)
        }
    }

    /// A node's connections plan the queue's statements once, generically
    /// (`ClusterDatabase.startupParameters`).
    @Test func connectionsUseGenericPlans() async throws {
        try await withDatabase { client, queue in
            var mode = ""
            for try await value in try await client.query("SHOW plan_cache_mode", logger: queue.logger).decode(String.self) { mode = value }
            #expect(mode == "force_generic_plan")
        }
    }

    /// A node's ends and its next claim are one statement: each end is
    /// fenced by its own token (a stale one is refused while the others and
    /// the claim go through), the claim never takes an item ended in the
    /// same statement, and what it claims is noted as started.
    @Test func endsAndTheNextClaimGoInOneStatement() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(4)
            let first = try await queue.claim(owner: "node", policy: .init(pools: [.cpu]), limit: 2, lease: .seconds(60))
            #expect(first.map(\.index) == [0, 1])
            var stale = first[1]
            stale.token = UUID()
            let ends = [WorkQueue.EndNote(first[0], first[0].success, outcome: "{}"), WorkQueue.EndNote(stale, stale.success, outcome: "{}")]
            let exchange = try await queue.endAndClaim(ends, owner: "node", policy: .init(pools: [.cpu]), limit: 3, lease: .seconds(60))
            #expect(exchange.accepted == [first[0].token], "the stale end is refused, the other recorded")
            #expect(exchange.claims.map(\.index) == [2, 3], "the queued items, not the one just ended")
            #expect(try await queue.counts() == ["succeeded": 1, "running": 3])
            #expect(try await first[0].notedEnds(queue) == 1)
            #expect(try await first[1].notedEnds(queue) == 0)
            #expect(try await BatchSequencer.round(batch, client: client, logger: queue.logger) == 5, "four starts and one end noted")
            let nothing = try await queue.endAndClaim([], owner: "node", policy: .init(pools: [.cpu]), limit: 0, lease: .seconds(60))
            #expect(nothing.claims.isEmpty && nothing.accepted.isEmpty, "nothing to end or claim")
        }
    }

    /// The statement tells the node's sequencer, for each note it wrote,
    /// whether another note of the batch was pending (not one the node
    /// handed off itself), and which of the node's handed-off notes are
    /// still pending.
    @Test func aStatementSaysWhetherItsNotesFoundOthersAndWhichHandedOffNotesArePending() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(4)
            let first = try await queue.exchange("a", limit: 2)
            #expect(first.notes.count == 2 && first.notes.allSatisfy { $0.batch == batch && !$0.othersPending }, "nothing was pending")
            let second = try await queue.exchange("b")
            #expect(second.notes.count == 1 && second.notes.allSatisfy { $0.othersPending }, "a's two notes were pending")
            #expect(try await BatchSequencer.round(batch, client: client, logger: queue.logger) == 3)
            let third = try await queue.exchange("b")
            #expect(third.notes.count == 1 && !third.notes[0].othersPending, "the round took every note")
            let handedOff = [(batch: batch, seq: third.notes[0].seq)]
            let end = WorkQueue.EndNote(second.claims[0], second.claims[0].success, outcome: "{}")
            let fourth = try await queue.exchange("b", ends: [end], limit: 0, handedOff: handedOff)
            #expect(fourth.notes.count == 1 && !fourth.notes[0].othersPending, "the only note pending is one b handed off")
            #expect(fourth.stillPending == [third.notes[0].seq])
            #expect(try await BatchSequencer.round(batch, client: client, logger: queue.logger) == 2)
            let asked = handedOff + [(batch: batch, seq: fourth.notes[0].seq)]
            let fifth = try await queue.exchange("b", limit: 0, handedOff: asked)
            #expect(fifth.stillPending.isEmpty && fifth.claims.isEmpty && fifth.notes.isEmpty, "a look at handed-off notes alone")
        }
    }
}

extension WorkQueue.Claim {
    /// The item's end as a node records a success.
    var success: ItemEnd {
        ItemEnd(
            state: .succeeded,
            item: APIBatchItem(batchID: batchID.uuidString.lowercased(), index: index, filename: name, status: .ok)
        )
    }

    /// The ends noted for its item, not yet written as events.
    func notedEnds(_ queue: WorkQueue) async throws -> Int {
        var count = 0
        let rows = try await queue.client.query(
            "SELECT count(*)::int FROM calotype_pending_events WHERE batch_id = \(batchID) AND index = \(index) AND kind <> 'started'",
            logger: queue.logger
        )
        for try await value in rows.decode(Int.self) { count = value }
        return count
    }
}
