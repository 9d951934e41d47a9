import Foundation

/// What every node does for the cluster besides its items, each on its
/// own clock: it samples the items per state and pool (every 30 s, for
/// `/metrics`), and forgets the batches that ended more than
/// `batchLifetime` ago (every minute; one node's delete is enough, the
/// others find nothing to do). The server's nodes and the simulated ones
/// of `calotype bench --cluster-sim` run this same upkeep.
public struct NodeUpkeep: Sendable {
    public let queue: WorkQueue
    public let batchLifetime: Duration

    /// A sample counts every item the database keeps: each node taking
    /// one every 5 s was 0.65 statements an item at 512 simulated nodes
    /// (`calotype bench --cluster-sim`), and a scan of the whole table each.
    static let sampleInterval: Duration = .seconds(30)
    static let forgetInterval: Duration = .seconds(60)

    public init(queue: WorkQueue, batchLifetime: Duration) {
        self.queue = queue
        self.batchLifetime = batchLifetime
    }

    /// Runs until cancelled: `sampled` is given each sample, `failed` each
    /// call that failed (which the next turn tries again), with what it was.
    public func run(
        sampled: @escaping @Sendable ([WorkQueue.ItemCount]) -> Void,
        failed: @escaping @Sendable (_ operation: String, any Error) -> Void
    ) async {
        let (queue, batchLifetime) = (self.queue, self.batchLifetime)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Self.every(Self.sampleInterval, "count items", failed) { sampled(try await queue.countsByPool()) }
            }
            group.addTask {
                await Self.every(Self.forgetInterval, "forget batches", failed) { _ = try await queue.forgetBatches(endedBefore: batchLifetime) }
            }
        }
    }

    private static func every(
        _ interval: Duration,
        _ operation: String,
        _ failed: @Sendable (String, any Error) -> Void,
        _ body: @Sendable () async throws -> Void
    ) async {
        while !Task.isCancelled {
            do {
                try await body()
            } catch {
                // Stopping is not a failure.
                if Task.isCancelled { return }
                failed(operation, error)
            }
            try? await Task.sleep(for: interval)
        }
    }
}
