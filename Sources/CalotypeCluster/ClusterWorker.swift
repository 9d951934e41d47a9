import CalotypeCore
import Foundation
import Logging
import NIOConcurrencyHelpers
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
    /// How an item ended on this node, as it will be recorded.
    public struct Finished: Sendable {
        public enum Ending: Sendable {
            /// Final: a result, or an error of the input's (never retried).
            case ended(WorkQueue.Ending)
            /// A fault of this node's (its device, its shutdown): the item goes
            /// back to the queue, in `pool` when given, unless it has used
            /// its attempts; then it ends `failed` with its error.
            case retry(in: WorkQueue.Pool?)
        }

        public var ending: Ending
        /// The API's item: its result, or its error.
        public var item: APIBatchItem

        public init(_ ending: Ending, item: APIBatchItem) {
            self.ending = ending
            self.item = item
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
        /// Claims of one item before a fault of a node's is final for it.
        public var maxAttempts: Int
        /// The longest one item may run here, its finish included; nil: no
        /// bound. Past it the node stops extending its lease (and takes
        /// another item in its place), so that a call that never returns
        /// cannot strand the item while the node's heartbeat keeps it
        /// claimed: its lease lapses, another node runs it, and a late
        /// finish of this one is refused by its token.
        public var itemDeadline: Duration?

        public init(
            owner: String,
            policy: WorkQueue.ClaimPolicy,
            workers: Int,
            lease: Duration = .seconds(30),
            heartbeat: Duration? = nil,
            idlePoll: Duration = .milliseconds(250),
            maxAttempts: Int = 3,
            itemDeadline: Duration? = nil
        ) {
            self.itemDeadline = itemDeadline
            self.maxAttempts = max(1, maxAttempts)
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
        /// Given back to the queue after a fault of this node's.
        case retried(WorkQueue.Claim)
        /// Its lease was found gone while it ran: it was stopped.
        case lost(WorkQueue.Claim)
        /// Handed back unfinished at shutdown.
        case released([WorkQueue.Claim])
        /// Past its item deadline: its lease is left to lapse (it may still
        /// end here later, as `lost` or `finished` with its finish refused).
        case abandoned(WorkQueue.Claim)
        /// A database call the loop outlives failed (a retry hand-back, a
        /// heartbeat); logged where it happened.
        case databaseFailed(operation: String)
        /// One look at the queue: the claim statement's round trip, and
        /// the items it claimed (none when the queue had nothing for it).
        case looked(claimed: Int, took: Duration)
    }

    public let queue: WorkQueue
    public let configuration: Configuration
    /// Set by `drain()`: claim nothing more.
    private let draining = DrainFlag()
    /// Wakes an idle loop before its next look (`nudge()`).
    private let nudges = WakeSignal()
    let process: @Sendable (WorkQueue.Claim) async -> Finished
    let observer: @Sendable (Event) -> Void
    /// Writes the events of the batches this node claims and ends items of.
    let sequencer: BatchSequencer

    public init(
        queue: WorkQueue,
        configuration: Configuration,
        observer: @escaping @Sendable (Event) -> Void = { _ in },
        process: @escaping @Sendable (WorkQueue.Claim) async -> Finished
    ) {
        self.queue = queue
        self.configuration = configuration
        self.observer = observer
        self.process = process
        sequencer = BatchSequencer(client: queue.client, logger: queue.logger)
    }

    /// What the claim loop is woken by.
    private enum Wake: Sendable {
        case itemEnded, tick, heartbeatEnded
    }

    /// How long a claim's `started` events may wait for the item's end, to
    /// be written in one round with it: a thumbnail on a GPU ends within
    /// it, and its claim and end cost one round, not two.
    static let startedWait: Duration = .milliseconds(50)

    /// Looks that may fail to record an item's end before it is given up
    /// (its lease then lapses and another node runs the item).
    static let endAttempts = 3

    /// Tells an idle loop to look at the queue now rather than at its next
    /// `idlePoll`: work may have come (the node heard a batch's event).
    public func nudge() {
        nudges.signal()
    }

    /// Stops claiming: `run()` returns once the items running now have
    /// ended (a graceful shutdown; cancel `run()` at the end of the grace
    /// period to hand back what is still running).
    public func drain() {
        draining.set()
    }

    /// Runs until cancelled, or drained; then hands back the items it holds
    /// unfinished.
    ///
    /// Each look at the queue also records the ends of the items finished
    /// since the last (`WorkQueue.endAndClaim`): a worker that finishes an
    /// item frees its place at once, and its end goes to the database with
    /// the claim of its next item, in one statement.
    public func run() async throws {
        let running = RunningItems()
        let ends = PendingEnds()
        await withTaskGroup(of: Wake.self) { group in
            group.addTask {
                await keepLeases(running, ends: ends)
                return .heartbeatEnded
            }
            var tickPending = false
            var databaseAway = false
            // Looks in a row that failed to record their ends.
            var endFailures = 0
            while !Task.isCancelled {
                let finished = ends.takeAll()
                if draining.isSet {
                    if !finished.isEmpty {
                        await record(finished)
                        continue
                    }
                    if running.count == 0 { break }
                    _ = await group.next()
                    continue
                }
                let free = configuration.workers - running.count
                var claims: [WorkQueue.Claim] = []
                var failed = false
                if free > 0 || !finished.isEmpty {
                    do {
                        let asked = ContinuousClock.now
                        // A task of its own: cancelled while it runs, this loop
                        // would lose what the statement claimed and recorded.
                        let (queue, owner, policy, lease) = (queue, configuration.owner, configuration.policy, configuration.lease)
                        let handedOff = sequencer.handedOff
                        let exchange = try await Task {
                            try await queue.endAndClaim(
                                finished,
                                owner: owner,
                                policy: policy,
                                limit: max(0, free),
                                lease: lease,
                                handedOff: handedOff
                            )
                        }.value
                        endFailures = 0
                        let took = ContinuousClock.now - asked
                        sequencer.statementTook(took)
                        if free > 0 { observer(.looked(claimed: exchange.claims.count, took: took)) }
                        claims = exchange.claims
                        recorded(finished, exchange, handedOff: handedOff)
                        if databaseAway {
                            databaseAway = false
                            queue.logger.notice("the database answers again; claiming")
                        }
                    } catch {
                        // The ends are tried again with the next look (their
                        // tokens still fence them; their leases are kept):
                        // dropped, each would wait for its lease to lapse and
                        // run again, 30 s later by default.
                        failed = true
                        if !finished.isEmpty {
                            endFailures += 1
                            // Not for ever: after a few looks their leases are left
                            // to lapse, and the rescuer gives the items to another node.
                            if endFailures < Self.endAttempts {
                                ends.putBack(finished)
                                observer(.databaseFailed(operation: "finish"))
                            } else {
                                endFailures = 0
                                endsFailed(finished, error)
                            }
                        }
                        // Said once per outage, not at every look.
                        if !databaseAway && !Task.isCancelled {
                            databaseAway = true
                            queue.logger.warning(
                                "claiming (and recording ends) failed; trying again until the database answers",
                                metadata: ["error": "\(String(reflecting: error))"]
                            )
                        }
                    }
                }
                for claim in claims {
                    observer(.claimed(claim))
                    let lost = running.add(claim)
                    group.addTask {
                        await runItem(claim, lost: lost, running: running, ends: ends)
                        return .itemEnded
                    }
                }
                guard claims.isEmpty || running.count >= configuration.workers else { continue }
                // An end that came while the statement ran goes with the next look.
                guard ends.isEmpty || failed else { continue }
                // Wait for a worker to free up, or for the next look at the
                // queue, whichever comes first. A look comes even with every
                // worker busy: an abandoned item frees its worker while its
                // task still runs.
                if !tickPending {
                    tickPending = true
                    let (poll, nudges) = (configuration.idlePoll, self.nudges)
                    group.addTask {
                        _ = await nudges.wait(atMost: poll)
                        return .tick
                    }
                }
                if case .tick = await group.next() { tickPending = false }
            }
            group.cancelAll()
        }
        // The ends of the items finished last, and the events of what it
        // claimed and ended, written before it goes (tasks of their own:
        // this one may be cancelled).
        let finished = ends.takeAll()
        if !finished.isEmpty { await Task { await record(finished) }.value }
        await Task { [sequencer] in await sequencer.finish() }.value
        // Cancelled: what did not finish goes back to the queue for another node.
        let unfinished = running.all
        if !unfinished.isEmpty {
            // In a task of its own: this one is cancelled, and the hand-back
            // must still reach the database.
            try await Task { [queue] in try await queue.release(unfinished) }.value
            observer(.released(unfinished))
        }
    }

    /// Records `finished` without claiming (the node drains, or stops).
    private func record(_ finished: [WorkQueue.EndNote]) async {
        do {
            let handedOff = sequencer.handedOff
            let exchange = try await queue.endAndClaim(
                finished,
                owner: configuration.owner,
                policy: configuration.policy,
                limit: 0,
                lease: configuration.lease,
                handedOff: handedOff
            )
            recorded(finished, exchange, handedOff: handedOff)
        } catch {
            endsFailed(finished, error)
        }
    }

    /// After a statement that recorded `finished` and was asked about the
    /// notes `handedOff`: the sequencer hears which of those were taken,
    /// and of the statement's notes (their rounds are due, or they are
    /// handed off; a claim's `started` waits a little for its item's end,
    /// unless an end of the batch is due already), and each end is told.
    private func recorded(_ finished: [WorkQueue.EndNote], _ exchange: WorkQueue.Exchange, handedOff: [(batch: UUID, seq: Int)]) {
        let accepted = exchange.accepted
        sequencer.taken(asked: handedOff, stillPending: exchange.stillPending)
        let endedBatches = Set(finished.filter { accepted.contains($0.claim.token) }.map(\.claim.batchID))
        sequencer.notesCommitted(exchange.notes, ended: endedBatches, startedWait: Self.startedWait)
        for end in finished {
            let claim = end.claim
            let taken = accepted.contains(claim.token)
            observer(.finished(claim, accepted: taken))
            if !taken {
                queue.logger.notice(
                    "the lease was lost before the finish; the result is discarded",
                    metadata: ["batch": "\(claim.batchID)", "index": "\(claim.index)"]
                )
            }
        }
    }

    /// The statements that would have recorded `finished` failed (as the
    /// node stops, or at `endAttempts` looks in a row): their leases will
    /// end and the items run again elsewhere.
    private func endsFailed(_ finished: [WorkQueue.EndNote], _ error: any Error) {
        for end in finished {
            queue.logger.warning(
                "recording an item's end failed",
                metadata: ["batch": "\(end.claim.batchID)", "index": "\(end.claim.index)", "error": "\(String(reflecting: error))"]
            )
            observer(.finished(end.claim, accepted: false))
        }
        if !finished.isEmpty { observer(.databaseFailed(operation: "finish")) }
    }

    private func runItem(_ claim: WorkQueue.Claim, lost: AsyncStream<Void>, running: RunningItems, ends: PendingEnds) async {
        // A task of its own, not a child: it must act even while a child of
        // this one waits on a call that never returns.
        let watchdog = configuration.itemDeadline.map { deadline in
            Task { [queue, observer, nudges] in
                guard (try? await Task.sleep(for: deadline)) != nil else { return }
                queue.logger.warning(
                    "an item ran past its deadline; its lease is left to lapse so that another node runs it",
                    metadata: ["batch": "\(claim.batchID)", "index": "\(claim.index)", "deadline": "\(deadline)"]
                )
                running.remove(claim)
                observer(.abandoned(claim))
                nudges.signal()
            }
        }
        defer { watchdog?.cancel() }
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
        var ending: WorkQueue.Ending
        switch finished.ending {
        case .ended(let final):
            ending = final
        case .retry(let pool):
            if claim.attempts < configuration.maxAttempts {
                let retried: Bool
                do {
                    retried = try await queue.retry(claim, in: pool)
                } catch {
                    // Its lease will end and the rescuer will hand it back.
                    logger.warning(
                        "handing an item back for a retry failed",
                        metadata: ["batch": "\(claim.batchID)", "index": "\(claim.index)", "error": "\(String(reflecting: error))"]
                    )
                    observer(.databaseFailed(operation: "retry"))
                    retried = false
                }
                if retried {
                    observer(.retried(claim))
                    return
                }
            }
            ending = .failed
        }
        let end = ItemEnd(state: ending == .succeeded ? .succeeded : .failed, item: finished.item)
        do {
            let outcome = String(decoding: try APIJSON.encode(finished.item), as: UTF8.self)
            // Recorded by the claim loop's next statement (it is woken as
            // this task ends); held until then, its lease kept alive.
            ends.add(WorkQueue.EndNote(claim, end, outcome: outcome))
        } catch {
            logger.error(
                "an item's end could not be encoded; its lease will end and it runs again",
                metadata: ["batch": "\(claim.batchID)", "index": "\(claim.index)", "error": "\(String(reflecting: error))"]
            )
            observer(.finished(claim, accepted: false))
        }
    }

    /// Extends the leases of the running items every `heartbeat`; an item
    /// whose lease is gone (taken back while this node stalled) is stopped.
    private func keepLeases(_ running: RunningItems, ends: PendingEnds) async {
        // An outage is said once, when it starts and when it ends; each failed beat is counted.
        var failing = false
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.heartbeat)
            } catch {
                return
            }
            // Every beat, running items or not: the node's own heartbeat is in it.
            let tokens = running.all.map(\.token) + ends.tokens
            let held: Set<UUID>
            do {
                held = try await queue.heartbeat(owner: configuration.owner, tokens: tokens, lease: configuration.lease)
            } catch {
                // Stopping (shutdown) is not an outage.
                if Task.isCancelled || error is CancellationError { return }
                // The next beat tries again; leases not extended end on their own.
                if !failing {
                    queue.logger.warning("the heartbeat failed; trying every beat", metadata: ["error": "\(String(reflecting: error))"])
                }
                failing = true
                observer(.databaseFailed(operation: "heartbeat"))
                continue
            }
            if failing {
                queue.logger.notice("the heartbeat is written again")
                failing = false
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
    private let items = NIOLockedValueBox<[UUID: (claim: WorkQueue.Claim, lost: AsyncStream<Void>.Continuation)]>([:])

    var count: Int { items.withLockedValue { $0.count } }
    var all: [WorkQueue.Claim] { items.withLockedValue { $0.values.map(\.claim) } }

    /// Adds `claim`; returns the stream that yields when its lease is lost.
    func add(_ claim: WorkQueue.Claim) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        items.withLockedValue { $0[claim.token] = (claim, continuation) }
        return stream
    }

    func remove(_ claim: WorkQueue.Claim) {
        let removed = items.withLockedValue { $0.removeValue(forKey: claim.token) }
        removed?.lost.finish()
    }

    /// Its lease is gone: stop it.
    func lose(_ token: UUID) {
        let continuation = items.withLockedValue { $0[token]?.lost }
        continuation?.yield()
    }
}

/// Ends finished on this node and not yet recorded: the claim loop's next
/// statement takes them.
final class PendingEnds: Sendable {
    private let ends = NIOLockedValueBox<[WorkQueue.EndNote]>([])

    var isEmpty: Bool { ends.withLockedValue { $0.isEmpty } }
    var tokens: [UUID] { ends.withLockedValue { $0.map(\.claim.token) } }

    func add(_ end: WorkQueue.EndNote) {
        ends.withLockedValue { $0.append(end) }
    }

    /// Ends a statement failed to record, tried first at the next.
    func putBack(_ failed: [WorkQueue.EndNote]) {
        ends.withLockedValue { $0.insert(contentsOf: failed, at: 0) }
    }

    func takeAll() -> [WorkQueue.EndNote] {
        ends.withLockedValue { ends in
            defer { ends = [] }
            return ends
        }
    }
}

/// Whether a worker drains (stops claiming), shared by its copies.
final class DrainFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() { value.store(true, ordering: .releasing) }
}
