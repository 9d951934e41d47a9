import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// How many bytes the work admitted at once may hold: request bodies being
/// read or held, plus the decoded pixels of the jobs submitted, estimated
/// from their headers.
///
/// A queue length alone does not bound memory: 64 clients posting 15-18 MP
/// photos were all admitted (queue 256) and the server grew to 1,150 MB with
/// a median wait of 18 s. New requests are admitted against this budget
/// instead: one that does not fit waits up to a second for room, then is
/// refused with 503 `overloaded` and `Retry-After`, before its body is read.
/// Jobs already admitted never wait on it: their decoded pixels are counted
/// (so that they hold new requests back), never refused, so admitted work
/// always finishes and frees its share.
public final class MemoryBudget: Sendable {
    /// The budget in bytes (`Int.max`: unlimited).
    public let limit: Int

    private struct Waiter {
        let id: UInt64
        let bytes: Int
        /// What the waiter holds already: it is alone when that is all that is held.
        let besides: Int
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var used = 0
        /// Holds given out so far (admitted or committed), wrapping.
        var holds: UInt64 = 0
        var nextID: UInt64 = 0
        var waiters: [Waiter] = []
    }

    /// A pthread mutex (NIO's lock): ThreadSanitizer sees it, where it does
    /// not see `Synchronization.Mutex`'s futex on Linux and reports the
    /// state it guards as raced.
    private let state = NIOLockedValueBox(State())

    public init(limit: Int) {
        self.limit = max(limit, 1)
    }

    /// No budget: everything is admitted (tests, embedded uses).
    public static var unlimited: MemoryBudget { MemoryBudget(limit: .max) }

    /// Bytes held now.
    public var used: Int { state.withLockedValue { $0.used } }

    /// Bytes held now, and how many holds have been given out so far: work
    /// has come and gone since an earlier look when the count moved (an
    /// idle-time trim of the allocator reads both).
    public var activity: (used: Int, holds: UInt64) { state.withLockedValue { ($0.used, $0.holds) } }

    /// A default for a machine: a quarter of its memory, and no more than
    /// 160 MiB per worker (enough to keep each busy with the next photo
    /// while one is decoded; more only lengthens the queue). On 2 workers,
    /// 320 MiB.
    public static func defaultLimit(workers: Int, physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> Int {
        let perWorker = 160 << 20
        let quarter = Int(clamping: physicalMemory / 4)
        return max(64 << 20, min(quarter, perWorker * max(workers, 1)))
    }

    /// What one job's decoded pixels are estimated to hold: RGBA bytes of
    /// the input's declared size (shrink-on-load makes most jobs hold less).
    ///
    /// `megapixels` comes from a header anyone can write (a 66-byte PNG may
    /// declare 2^32 x 2^32 pixels), so the product saturates at `Int.max`
    /// and NaN counts as nothing: `Int64(Double)` traps outside its range.
    public static func decodedEstimate(megapixels: Double) -> Int {
        let bytes = megapixels * 4_000_000
        guard bytes > 0 else { return 0 }  // NaN too
        return bytes < Double(Int.max) ? Int(bytes) : Int.max
    }

    /// Bytes held until the hold is released (or dropped).
    public final class Hold: Sendable {
        private let budget: MemoryBudget
        public let bytes: Int
        private let released = Atomic(false)

        fileprivate init(budget: MemoryBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        /// Gives the bytes back; later calls (and the drop) do nothing.
        public func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { budget.give(bytes) }
        }

        deinit { release() }
    }

    /// Admits `bytes` when they fit (or when nothing at all is held, so that
    /// one request larger than the budget still runs alone), waiting up to
    /// `wait` behind earlier waiters; nil when no room came in time or the
    /// calling task was cancelled.
    public func admit(_ bytes: Int, waitingAtMost wait: Duration) async -> Hold? {
        await admit(bytes, besides: 0, waitingAtMost: wait)
    }

    /// As `admit(_:waitingAtMost:)` for work that holds `held` bytes of
    /// this budget already (a fetch booking its body in steps): it counts as
    /// alone when what it holds is all that is held, so that a source larger
    /// than the budget still arrives when nothing else runs, as one with a
    /// declared length does.
    public func admit(_ bytes: Int, besides held: Int, waitingAtMost wait: Duration) async -> Hold? {
        let bytes = max(bytes, 0)
        let held = max(held, 0)
        if Task.isCancelled { return nil }
        let deadline = ContinuousClock.now + wait
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        let admitted = await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Past the deadline a waiter still queued gets `false`; one
                // that queues later sees the deadline has passed and does not.
                guard (try? await Task.sleep(until: deadline)) != nil else { return }
                expire(id)
            }
            let admitted = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let immediate: Bool? = state.withLockedValue { state in
                        if state.waiters.isEmpty, fits(bytes, besides: held, in: state) {
                            state.used += bytes  // fits: at most `limit`, or alone
                            state.holds &+= 1
                            return true
                        }
                        if ContinuousClock.now >= deadline || Task.isCancelled { return false }
                        state.waiters.append(Waiter(id: id, bytes: bytes, besides: held, continuation: continuation))
                        return nil
                    }
                    if let immediate { continuation.resume(returning: immediate) }
                }
            } onCancel: {
                expire(id)
            }
            group.cancelAll()
            return admitted
        }
        return admitted ? Hold(budget: self, bytes: bytes) : nil
    }

    /// Counts `bytes` that admitted work holds now; never waits or refuses.
    /// What is counted saturates at `Int.max` (the hold keeps what it
    /// actually added, so that its release gives back exactly that): two
    /// estimates of absurd sizes add up without a trap.
    public func commit(_ bytes: Int) -> Hold {
        let added = state.withLockedValue { state in
            let added = Self.room(for: max(bytes, 0), besides: state.used)
            state.used += added
            state.holds &+= 1
            return added
        }
        return Hold(budget: self, bytes: added)
    }

    /// How much of `bytes` can be added to `used` without passing `Int.max`.
    private static func room(for bytes: Int, besides used: Int) -> Int {
        min(bytes, Int.max - used)
    }

    private func fits(_ bytes: Int, besides held: Int = 0, in state: State) -> Bool {
        // `limit - bytes` cannot overflow: both are non-negative.
        state.used <= held || state.used <= limit - bytes
    }

    /// A waiter's time is up: it gets `false`, unless room came first.
    private func expire(_ id: UInt64) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Bytes came back: admits waiters in order while they fit.
    fileprivate func give(_ bytes: Int) {
        let admitted = state.withLockedValue { state -> [Waiter] in
            state.used -= bytes
            var admitted: [Waiter] = []
            while let first = state.waiters.first, fits(first.bytes, besides: first.besides, in: state) {
                state.used += first.bytes
                state.holds &+= 1
                admitted.append(state.waiters.removeFirst())
            }
            return admitted
        }
        for waiter in admitted { waiter.continuation.resume(returning: true) }
    }
}
