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
/// Whatever was booked is given back at once when the fetch fails (the
/// holds are released with the booking).
final class BudgetBooking: FetchBooking {
    private let budget: MemoryBudget
    private let wait: Duration?
    private let deadline: ContinuousClock.Instant
    private let source: String
    private let holds = NIOLockedValueBox<(booked: Int, holds: [MemoryBudget.Hold])>((0, []))

    /// - wait: how long one step waits for room; nil: until `deadline`.
    init(budget: MemoryBudget, source: String, wait: Duration?, until deadline: ContinuousClock.Instant) {
        self.budget = budget
        self.source = source
        self.wait = wait
        self.deadline = deadline
    }

    func book(atLeast bytes: Int) async throws(SourceError) {
        let missing = bytes - holds.withLockedValue { $0.booked }
        guard missing > 0 else { return }
        let untilDeadline = deadline - ContinuousClock.now
        guard untilDeadline > .zero else { throw .timeout(source) }
        guard let hold = await budget.admit(missing, waitingAtMost: min(wait ?? untilDeadline, untilDeadline)) else {
            if Task.isCancelled || ContinuousClock.now >= deadline { throw .timeout(source) }
            throw .overloaded(
                "the server holds as much work as its memory budget allows (CALOTYPE_MEMORY_BUDGET_MB) and had no room for \(source)'s bytes; retry in 1 s")
        }
        holds.withLockedValue {
            $0.booked += hold.bytes
            $0.holds.append(hold)
        }
    }

    /// The booking turned into a hold of `bytes` (what came, which may be
    /// less than what was booked for it), kept until the image is done.
    func held(_ bytes: Int) -> MemoryBudget.Hold {
        let hold = budget.commit(bytes)
        release()
        return hold
    }

    /// Gives back everything booked.
    func release() {
        for hold in holds.withLockedValue({ state in
            defer { state = (0, []) }
            return state.holds
        }) {
            hold.release()
        }
    }

    deinit { release() }
}
