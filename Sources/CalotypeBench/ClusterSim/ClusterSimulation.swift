import CalotypeCluster
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// `calotype bench --cluster-sim NODES`: how far one PostgreSQL carries the
/// cluster's queue. NODES simulated nodes in this process, each saying to
/// the database what a real node says (`SimulatedNode`), take the items of
/// batches posted through them, while every batch's event stream is
/// followed to its `complete` on one of them, as clients follow theirs.
/// Each node count runs in a scratch database of its own.
///
/// It reports items per second end to end (the first post to the last
/// `complete`), database statements per item (`pg_stat_statements`,
/// where the server loads it), the claim statement's round trip, and the
/// time from a batch's last item's end to its `complete` reaching the
/// stream.
public struct ClusterSimulation: Sendable {
    public struct Options: Sendable {
        /// A PostgreSQL server; its user must be able to create databases.
        public var databaseURL: String
        public var nodeCounts: [Int]
        /// Items per node count.
        public var items: Int
        public var batchSize: Int
        public var workersPerNode: Int
        /// How long each simulated item runs (zero: it ends at once).
        public var itemTime: Duration
        /// Each node's connection pool (its `LISTEN` connection is one of them).
        public var connectionsPerNode: Int
        public var lease: Duration

        public init(
            databaseURL: String,
            nodeCounts: [Int],
            items: Int = 20_000,
            batchSize: Int = 100,
            workersPerNode: Int = 1,
            itemTime: Duration = .zero,
            connectionsPerNode: Int = 4,
            lease: Duration = .seconds(30)
        ) {
            self.databaseURL = databaseURL
            self.nodeCounts = nodeCounts
            self.items = items
            self.batchSize = batchSize
            self.workersPerNode = workersPerNode
            self.itemTime = itemTime
            self.connectionsPerNode = connectionsPerNode
            self.lease = lease
        }
    }

    public let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs every node count in turn; `report` is told each one's figures as they come.
    public func run(report: (SimulationFigures) -> Void = { _ in }) async throws -> [SimulationFigures] {
        var all: [SimulationFigures] = []
        for nodes in options.nodeCounts {
            let figures = try await run(nodes: nodes)
            report(figures)
            all.append(figures)
        }
        return all
    }

    private func run(nodes count: Int) async throws -> SimulationFigures {
        let scratch = try await ScratchDatabase.create(serverURL: options.databaseURL, logger: logger)
        do {
            let figures = try await run(nodes: count, in: scratch)
            try await scratch.drop(logger: logger)
            return figures
        } catch {
            try? await scratch.drop(logger: logger)
            throw error
        }
    }

    private func run(nodes count: Int, in scratch: ScratchDatabase) async throws -> SimulationFigures {
        let timings = SimulationTimings()
        let options = self.options
        let logger = self.logger
        let nodes = (0..<count).map { index in
            SimulatedNode(
                name: "sim-\(index)",
                database: scratch.configuration,
                connections: options.connectionsPerNode,
                workers: options.workersPerNode,
                lease: options.lease,
                itemTime: options.itemTime,
                logger: logger,
                observer: { timings.record($0) }
            )
        }
        let (listening, listened) = AsyncStream.makeStream(of: Void.self)
        return try await ScratchDatabase.withClient(scratch.configuration, logger: logger) { observer in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in nodes {
                    group.addTask { await node.run(listening: { listened.yield() }) }
                }
                // Every node listening (and so registered) before the clock starts.
                var ready = 0
                for await _ in listening {
                    ready += 1
                    if ready == count { break }
                }
                let before = await ScratchDatabase.statements(on: observer, logger: logger)
                let walBefore = await ScratchDatabase.walPosition(on: observer, logger: logger)
                timings.reset()
                let start = ContinuousClock.now
                try await Self.postAndFollow(options: options, through: nodes, timings: timings)
                let elapsed = ContinuousClock.now - start
                let after = await ScratchDatabase.statements(on: observer, logger: logger)
                let walAfter = await ScratchDatabase.walPosition(on: observer, logger: logger)
                group.cancelAll()
                return SimulationFigures(
                    nodes: count,
                    options: options,
                    elapsed: elapsed,
                    statements: SimulationFigures.statements(before: before, after: after),
                    walBytes: walBefore.flatMap { start in walAfter.map { max(0, $0 - start) } },
                    timings: timings
                )
            }
        }
    }

    /// Posts the batches through the nodes in turn, keeping enough of them
    /// queued for every worker, and follows each to its `complete`.
    private static func postAndFollow(options: Options, through nodes: [SimulatedNode], timings: SimulationTimings) async throws {
        let batches = (options.items + options.batchSize - 1) / options.batchSize
        // Four items per worker waiting: no node idles for want of work
        // while batches end (a batch's last items run on a few nodes).
        let workers = nodes.count * options.workersPerNode
        let inFlight = min(batches, max(2, (4 * workers + options.batchSize - 1) / options.batchSize + 1))
        let next = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    while true {
                        let number = next.withLockedValue { value in
                            defer { value += 1 }
                            return value
                        }
                        guard number < batches else { return }
                        let size = min(options.batchSize, options.items - number * options.batchSize)
                        let node = nodes[number % nodes.count]
                        let batch = WorkQueue.NewBatch(recipeJSON: Self.recipe, owner: "sim")
                        try await node.queue.enqueue(
                            batch,
                            items: (0..<size).map { WorkQueue.NewItem(source: "staged:sim/\(batch.id)/\($0)", name: "photo-\($0).jpg", pool: .cpu) }
                        )
                        // Followed on another node than the one it was posted to, as a client behind a load balancer may.
                        let follower = nodes[(number + 1) % nodes.count]
                        for await event in follower.feed.follow(batch.id, after: 0) where event.name == "complete" {
                            timings.completed(batch.id, at: .now)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static let recipe = #"{"ops":[{"op":"resize","width":512,"height":512,"fit":"inside"}],"format":"jpeg","quality":80}"#
}

/// What the nodes and streams saw, from every task at once.
final class SimulationTimings: Sendable {
    private struct State {
        var claimRoundTrips: [Duration] = []
        var finished = 0
        var lastEnd: [UUID: ContinuousClock.Instant] = [:]
        var completeDelays: [Duration] = []
    }

    private let state = NIOLockedValueBox(State())

    func reset() {
        state.withLockedValue { $0 = State() }
    }

    func record(_ event: ClusterWorker.Event) {
        switch event {
        case .looked(_, let took):
            state.withLockedValue { $0.claimRoundTrips.append(took) }
        case .finished(let claim, accepted: true):
            let now = ContinuousClock.now
            state.withLockedValue { state in
                state.finished += 1
                state.lastEnd[claim.batchID] = max(state.lastEnd[claim.batchID] ?? now, now)
            }
        default:
            break
        }
    }

    /// The stream of `batch` has just read its `complete`.
    func completed(_ batch: UUID, at instant: ContinuousClock.Instant) {
        state.withLockedValue { state in
            // The node learns of its finish after the commit that wrote
            // `complete`: a stream can read it first (a delay of zero).
            guard let end = state.lastEnd.removeValue(forKey: batch) else { return }
            state.completeDelays.append(max(.zero, instant - end))
        }
    }

    var claimRoundTrips: [Duration] { state.withLockedValue { $0.claimRoundTrips } }
    var completeDelays: [Duration] { state.withLockedValue { $0.completeDelays } }
    var finished: Int { state.withLockedValue { $0.finished } }
}
