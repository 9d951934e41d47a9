import CalotypeCluster
import CalotypeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import TestSupport
import Testing

/// The claim loop on a real PostgreSQL. What running an item means is a
/// closure here (the server gives its scheduler): the loop's decisions
/// (claim, keep, stop, fence, hand back) are what is tested.
@Suite("Cluster: a node's claim loop", .serialized, .timeLimit(.minutes(3)))
struct ClusterWorkerTests {
    static func worker(
        _ queue: WorkQueue,
        _ owner: String,
        workers: Int = 2,
        lease: Duration = .seconds(30),
        heartbeat: Duration? = nil,
        observer: @escaping @Sendable (ClusterWorker.Event) -> Void = { _ in },
        process: @escaping @Sendable (WorkQueue.Claim) async -> ClusterWorker.Finished
    ) -> ClusterWorker {
        ClusterWorker(
            queue: queue,
            configuration: .init(
                owner: owner,
                policy: .init(pools: [.cpu]),
                workers: workers,
                lease: lease,
                heartbeat: heartbeat,
                idlePoll: .milliseconds(20)
            ),
            observer: observer,
            process: process
        )
    }

    static func succeeded(_ claim: WorkQueue.Claim) -> ClusterWorker.Finished {
        ClusterWorker.Finished(
            .ended(.succeeded),
            item: APIBatchItem(batchID: claim.batchID.uuidString.lowercased(), index: claim.index, filename: claim.name, status: .ok)
        )
    }

    @Test func twoNodesFinishEveryItemExactlyOnce() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(40)
            let ran = NIOLockedValueBox<[Int]>([])
            let finished = AsyncStream.makeStream(of: Int.self)
            let nodes = ["a", "b"].map { owner in
                Self.worker(
                    queue,
                    owner,
                    observer: { event in
                        if case .finished(let claim, true) = event { finished.continuation.yield(claim.index) }
                    }
                ) { claim in
                    ran.withLockedValue { $0.append(claim.index) }
                    return Self.succeeded(claim)
                }
            }
            let tasks = nodes.map { node in Task { try await node.run() } }
            var ended = Set<Int>()
            for await index in finished.stream {
                ended.insert(index)
                if ended.count == 40 { break }
            }
            for task in tasks { task.cancel() }
            for task in tasks { try await task.value }
            #expect(ran.withLockedValue { $0.sorted() } == Array(0..<40), "each item ran once")
            #expect(try await queue.counts() == ["succeeded": 40])
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            try expectEventContract(try await log.events(of: batch, after: 0), total: 40, succeeded: 40)
        }
    }

    /// An item whose work never returns, cancelled or not (a call that
    /// hangs), is abandoned at its deadline: the node stops extending its
    /// lease and takes the next item in its place, and the lapsed lease puts
    /// the item back for another node. Before, the heartbeat kept it
    /// claimed for good (a batch stalled after a PostgreSQL restart).
    @Test func anItemPastItsDeadlineIsAbandonedAndItsLeaseLapses() async throws {
        try await withDatabase { _, queue in
            let stuck = try await queue.batch(1)
            // The stuck batch's item never returns, and ignores cancellation,
            // until the test lets it go; claimed again after that, it returns.
            let hung = NIOLockedValueBox<(released: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
            let events = AsyncStream.makeStream(of: String.self)
            let node = ClusterWorker(
                queue: queue,
                configuration: .init(
                    owner: "hanging",
                    policy: .init(pools: [.cpu]),
                    workers: 1,
                    lease: .seconds(1),
                    heartbeat: .milliseconds(50),
                    idlePoll: .milliseconds(20),
                    itemDeadline: .milliseconds(300)
                ),
                observer: { event in
                    // Only the stuck item's abandonment and the next item's
                    // claim: whether that next item also outlives the short
                    // deadline depends on the machine's load, not on the loop.
                    switch event {
                    case .abandoned(let claim) where claim.batchID == stuck: events.continuation.yield("abandoned stuck")
                    case .claimed(let claim): events.continuation.yield("claimed \(claim.batchID == stuck ? "stuck" : "other")")
                    default: break
                    }
                }
            ) { claim in
                if claim.batchID == stuck {
                    await withCheckedContinuation { continuation in
                        let released = hung.withLockedValue { state in
                            if !state.released { state.waiting.append(continuation) }
                            return state.released
                        }
                        if released { continuation.resume() }
                    }
                }
                return Self.succeeded(claim)
            }
            let task = Task { try await node.run() }
            var iterator = events.stream.makeAsyncIterator()
            #expect(await iterator.next() == "claimed stuck")
            #expect(await iterator.next() == "abandoned stuck")
            // Its one worker is free again, though the stuck call still runs.
            _ = try await queue.batch(1)
            #expect(await iterator.next() == "claimed other", "the worker took the next item in the stuck one's place")
            // Its lease is no longer extended: it lapses and the item is queued again.
            var rescued: [WorkQueue.Expired] = []
            while !rescued.contains(where: { $0.batchID == stuck }) {
                rescued += try await queue.expireLeases(maxAttempts: 3) ?? []
            }
            #expect(rescued.filter { $0.batchID == stuck }.count == 1)
            #expect(rescued.allSatisfy { !$0.dead }, "a lapsed lease queues its item again")
            let waiting = hung.withLockedValue { state in
                state.released = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
            task.cancel()
            try await task.value
        }
    }

    /// A node stalls past its lease (its heartbeat never comes): the item
    /// is rescued and finished by another node; when the stalled node
    /// wakes, its result is refused by the token and counted nowhere.
    @Test func aStalledNodesLateResultIsRefused() async throws {
        try await withDatabase { client, queue in
            let batch = try await queue.batch(1)
            let started = AsyncStream.makeStream(of: Void.self)
            let wake = AsyncStream.makeStream(of: Void.self)
            let outcomes = AsyncStream.makeStream(of: (String, Bool).self)
            // One worker: while its item runs it claims nothing more (it must
            // not take the rescued item back itself).
            let stalled = Self.worker(
                queue,
                "stalled",
                workers: 1,
                lease: .zero,
                heartbeat: .seconds(3600),
                observer: { event in
                    if case .finished(_, let accepted) = event { outcomes.continuation.yield(("stalled", accepted)) }
                }
            ) { claim in
                started.continuation.yield()
                for await _ in wake.stream { break }
                return Self.succeeded(claim)
            }
            let stalledTask = Task { try await stalled.run() }
            for await _ in started.stream { break }
            #expect(try await queue.expireLeases(maxAttempts: 3)?.count == 1, "the lease ended: the item is queued again")
            let healthy = Self.worker(
                queue,
                "healthy",
                observer: { event in
                    if case .finished(_, let accepted) = event { outcomes.continuation.yield(("healthy", accepted)) }
                }
            ) { Self.succeeded($0) }
            let healthyTask = Task { try await healthy.run() }
            var iterator = outcomes.stream.makeAsyncIterator()
            let first = await iterator.next()
            #expect(first?.0 == "healthy" && first?.1 == true)
            wake.continuation.yield()
            let second = await iterator.next()
            #expect(second?.0 == "stalled" && second?.1 == false, "the late result is refused")
            stalledTask.cancel()
            healthyTask.cancel()
            try await stalledTask.value
            try await healthyTask.value
            let log = BatchEventLog(client: client, logger: Logger(label: "test"))
            #expect(try await log.events(of: batch, after: 0).count { $0.name == "result" } == 1, "one result event")
            #expect(try await queue.counts() == ["succeeded": 1])
        }
    }

    /// A node whose heartbeat finds a lease gone stops that item at once.
    @Test func anItemWhoseLeaseIsLostIsStopped() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(1)
            let started = AsyncStream.makeStream(of: Void.self)
            let events = AsyncStream.makeStream(of: String.self)
            // One worker: while its item runs it claims nothing more.
            let node = Self.worker(
                queue,
                "slow",
                workers: 1,
                lease: .zero,
                heartbeat: .milliseconds(20),
                observer: { event in
                    if case .lost = event { events.continuation.yield("lost") }
                }
            ) { claim in
                started.continuation.yield()
                // Runs until stopped (a sleep that cancellation ends; never a spin).
                try? await Task.sleep(for: .seconds(3600))
                events.continuation.yield("stopped")
                return Self.succeeded(claim)
            }
            let task = Task { try await node.run() }
            for await _ in started.stream { break }
            // A heartbeat that commits while the rescue waits for the row
            // renews the (zero) lease past the rescue's own start, and the
            // rescue rightly finds nothing: it is asked again until it takes
            // the item back.
            var rescued: [WorkQueue.Expired] = []
            while rescued.isEmpty {
                rescued = try await queue.expireLeases(maxAttempts: 3) ?? []
            }
            #expect(rescued.count == 1)
            var seen: [String] = []
            for await event in events.stream {
                seen.append(event)
                if seen.count == 2 { break }
            }
            #expect(Set(seen) == ["lost", "stopped"])
            task.cancel()
            try await task.value
        }
    }

    /// Shutdown: the node stops claiming and hands back what it holds,
    /// without counting the attempt.
    @Test func shutdownHandsBackWhatDidNotFinish() async throws {
        try await withDatabase { _, queue in
            _ = try await queue.batch(2)
            let started = AsyncStream.makeStream(of: Void.self)
            let released = AsyncStream.makeStream(of: Int.self)
            let node = Self.worker(
                queue,
                "leaving",
                observer: { event in
                    if case .released(let claims) = event { released.continuation.yield(claims.count) }
                }
            ) { claim in
                started.continuation.yield()
                try? await Task.sleep(for: .seconds(3600))
                return Self.succeeded(claim)
            }
            let task = Task { try await node.run() }
            var count = 0
            for await _ in started.stream {
                count += 1
                if count == 2 { break }
            }
            task.cancel()
            try await task.value
            var handedBack = 0
            for await released in released.stream {
                handedBack = released
                break
            }
            #expect(handedBack == 2)
            #expect(try await queue.counts() == ["queued": 2])
            let again = try await queue.claimAll("next")
            #expect(again.count == 2 && again.allSatisfy { $0.attempts == 1 })
        }
    }
}
