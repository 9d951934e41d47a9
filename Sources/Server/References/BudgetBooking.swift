import CalotypeCore
import NIOConcurrencyHelpers
import Scheduler

/// A fetch's bytes booked against the server's memory budget while they
/// arrive (`FetchBooking`), then held as one hold of the bytes that came
/// until the image is done.
///
/// A fetch for `GET /img` waits for room as an upload does (a second, then
/// 503 `overloaded` with `Retry-After`); a batch's item waits until its
/// fetch's deadline, since the batch was admitted and its items take turns.
/// A fetch that holds part of its booking already (a body with no declared
/// length, booked in steps) waits at most a second for its next step, then
/// gives everything back: ten such fetches each holding 32 MiB of a
/// 320 MiB budget, each waiting for more, would otherwise wait each other
/// out until their deadlines. Whatever was booked is given back at once
/// when the fetch fails, and a step booked after that (by a fetch whose
/// caller had its answer at the deadline) is refused.
final class BudgetBooking: FetchBooking {
    private struct State {
        var booked = 0
        var holds: [MemoryBudget.Hold] = []
        var closed = false
    }

    private let budget: MemoryBudget
    private let wait: Duration?
    private let deadline: ContinuousClock.Instant
    private let source: String
    private let state = NIOLockedValueBox(State())

    /// The longest wait for a further step while holding part of a booking.
    static let stepWait: Duration = .seconds(1)

    /// - wait: how long a first booking waits for room; nil: until `deadline`.
    init(budget: MemoryBudget, source: String, wait: Duration?, until deadline: ContinuousClock.Instant) {
        self.budget = budget
        self.source = source
        self.wait = wait
        self.deadline = deadline
    }

    func book(atLeast bytes: Int) async throws(SourceError) {
        let (booked, closed) = state.withLockedValue { ($0.booked, $0.closed) }
        guard !closed else { throw .timeout(source) }
        let missing = bytes - booked
        guard missing > 0 else { return }
        let untilDeadline = deadline - ContinuousClock.now
        guard untilDeadline > .zero else { throw .timeout(source) }
        let patience = booked > 0 ? min(Self.stepWait, wait ?? Self.stepWait) : (wait ?? untilDeadline)
        guard let hold = await budget.admit(missing, besides: booked, waitingAtMost: min(patience, untilDeadline)) else {
            if Task.isCancelled || ContinuousClock.now >= deadline { throw .timeout(source) }
            throw .overloaded(
                "the server holds as much work as its memory budget allows (CALOTYPE_MEMORY_BUDGET_MB) and had no room for \(source)'s bytes; retry in 1 s"
            )
        }
        let kept = state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            state.booked += hold.bytes
            state.holds.append(hold)
            return true
        }
        if !kept {
            hold.release()
            throw .timeout(source)
        }
    }

    /// The booking turned into a hold of `bytes` (what the fetched buffer
    /// takes, which may be less than what was booked for it), kept until
    /// the image is done.
    func held(_ bytes: Int) -> MemoryBudget.Hold {
        let hold = budget.commit(bytes)
        release()
        return hold
    }

    /// Gives back everything booked; later steps are refused.
    func release() {
        let holds = state.withLockedValue { state in
            state.closed = true
            state.booked = 0
            defer { state.holds = [] }
            return state.holds
        }
        for hold in holds { hold.release() }
    }

    deinit { release() }
}
