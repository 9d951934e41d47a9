import Foundation
import Logging
import PostgresNIO
import Synchronization

/// One node's share of the cluster's work: it claims items for its free
/// workers, keeps their leases alive while they run, finishes each only if
/// its lease still holds (the token fences out a node that stalled), stops
/// an item whose lease it lost, and at shutdown stops claiming and hands
/// back what it did not finish.
///
/// What running an item means is the caller's (`process`): the node's
/// scheduler, in the server. Here it is a closure, so that the loop's
/// decisions are tested on a real PostgreSQL without images.
public struct ClusterWorker: Sendable {
    /// How an item ended, as the node will record it.
    public struct Finished: Sendable {
        public var ending: WorkQueue.Ending
        /// The API's item, as JSON.
        public var outcome: String
        /// Its events (`result` or `error`, progress), appended with the finish.
        public var events: [(name: String, data: String)]

        public init(ending: WorkQueue.Ending, outcome: String, events: [(name: String, data: String)] = []) {
            self.ending = ending
            self.outcome = outcome
            self.events = events
        }
    }

    public struct Configuration: Sendable {
        public var owner: String
        public var policy: WorkQueue.ClaimPolicy
        /// Items run at once (the node's workers).
        public var workers: Int
        /// How long a lease lasts unless extended: a node that dies loses its
        /// items this long after its last heartbeat.
        public var lease: Duration
        /// How often leases are extended (a third of the lease by default).
        public var heartbeat: Duration
        /// How long an idle node waits before looking for work again.
        public var idlePoll: Duration

        public init(
            owner: String, policy: WorkQueue.ClaimPolicy, workers: Int, lease: Duration = .seconds(30), heartbeat: Duration? = nil,
            idlePoll: Duration = .milliseconds(250)
        ) {
            self.owner = owner
            self.policy = policy
            self.workers = max(1, workers)
            self.lease = lease
            self.heartbeat = heartbeat ?? lease / 3
            self.idlePoll = idlePoll
        }
    }

    /// What the loop did, for metrics and logs (and tests).
    public enum Event: Sendable {
        case claimed(WorkQueue.Claim)
        /// Its finish was recorded (`accepted`), or refused: the lease was gone.
        case finished(WorkQueue.Claim, accepted: Bool)
        /// Its lease was found gone while it ran: it was stopped.
        case lost(WorkQueue.Claim)
        /// Handed back unfinished at shutdown.
        case released([WorkQueue.Claim])
    }

    public let queue: WorkQueue
    public let configuration: Configuration
    let process: @Sendable (WorkQueue.Claim) async -> Finished
    let observer: @Sendable (Event) -> Void

    public init(
        queue: WorkQueue, configuration: Configuration, observer: @escaping @Sendable (Event) -> Void = { _ in },
        process: @escaping @Sendable (WorkQueue.Claim) async -> Finished
    ) {
        self.queue = queue
        self.configuration = configuration
        self.observer = observer
        self.process = process
    }

    /// What the claim loop is woken by.
    private enum Wake: Sendable {
        case itemEnded, tick, heartbeatEnded
    }

    /// Runs until cancelled; then hands back the items it holds unfinished.
    public func run() async throws {
        let running = RunningItems()
        await withTaskGroup(of: Wake.self) { group in
            group.addTask {
                await keepLeases(running)
                return .heartbeatEnded
            }
            var tickPending = false
            while !Task.isCancelled {
                let free = configuration.workers - running.count
                var claims: [WorkQueue.Claim] = []
                if free > 0 {
                    claims = (try? await queue.claim(owner: configuration.owner, policy: configuration.policy, limit: free, lease: configuration.lease)) ?? []
                }
                for claim in claims {
                    observer(.claimed(claim))
                    let lost = running.add(claim)
                    group.addTask {
                        await runItem(claim, lost: lost, running: running)
                        return .itemEnded
                    }
                }
                guard claims.isEmpty || running.count >= configuration.workers else { continue }
                // Wait for a worker to free up, or (with workers free) for the
                // next look at the queue, whichever comes first.
                if running.count < configuration.workers && !tickPending {
                    tickPending = true
                    let poll = configuration.idlePoll
                    group.addTask {
                        try? await Task.sleep(for: poll)
                        return .tick
                    }
                }
                if case .tick = await group.next() { tickPending = false }
            }
            group.cancelAll()
        }
        // Cancelled: what did not finish goes back to the queue for another node.
        let unfinished = running.all
        if !unfinished.isEmpty {
            // In a task of its own: this one is cancelled, and the hand-back
            // must still reach the database.
            try await Task { [queue] in try await queue.release(unfinished) }.value
            observer(.released(unfinished))
        }
    }

    private func runItem(_ claim: WorkQueue.Claim, lost: AsyncStream<Void>, running: RunningItems) async {
        // The item runs until it ends, or until its lease is lost (then it is
        // stopped: another node has it).
        let finished: Finished? = await withTaskGroup(of: Finished?.self) { group in
            group.addTask { await process(claim) }
            group.addTask {
                for await _ in lost { return nil }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        // Shutting down: left listed, to be handed back.
        guard !Task.isCancelled else { return }
        defer { running.remove(claim) }
        guard let finished else {
            observer(.lost(claim))
            return
        }
        let logger = queue.logger
        let batch = claim.batchID
        let events = finished.events
        let accepted = (try? await queue.finish(claim, as: finished.ending, outcome: finished.outcome) { connection in
            try await BatchEventLog.append(events, to: batch, on: connection, logger: logger)
        }) ?? false
        observer(.finished(claim, accepted: accepted))
        if !accepted {
            logger.notice("the lease was lost before the finish; the result is discarded", metadata: ["batch": "\(batch)", "index": "\(claim.index)"])
        }
    }

    /// Extends the leases of the running items every `heartbeat`; an item
    /// whose lease is gone (taken back while this node stalled) is stopped.
    private func keepLeases(_ running: RunningItems) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.heartbeat)
            } catch {
                return
            }
            // Every beat, running items or not: the node's own heartbeat is in it.
            let tokens = running.all.map(\.token)
            guard let held = try? await queue.heartbeat(owner: configuration.owner, tokens: tokens, lease: configuration.lease) else {
                continue
            }
            for token in tokens where !held.contains(token) {
                running.lose(token)
            }
        }
    }
}

/// The items a worker runs now, each with the signal that stops it when
/// its lease is lost.
final class RunningItems: Sendable {
    private let items = Mutex<[UUID: (claim: WorkQueue.Claim, lost: AsyncStream<Void>.Continuation)]>([:])

    var count: Int { items.withLock { $0.count } }
    var all: [WorkQueue.Claim] { items.withLock { $0.values.map(\.claim) } }

    /// Adds `claim`; returns the stream that yields when its lease is lost.
    func add(_ claim: WorkQueue.Claim) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        items.withLock { $0[claim.token] = (claim, continuation) }
        return stream
    }

    func remove(_ claim: WorkQueue.Claim) {
        let removed = items.withLock { $0.removeValue(forKey: claim.token) }
        removed?.lost.finish()
    }

    /// Its lease is gone: stop it.
    func lose(_ token: UUID) {
        let continuation = items.withLock { $0[token]?.lost }
        continuation?.yield()
    }
}
