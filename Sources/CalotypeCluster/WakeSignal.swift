import NIOConcurrencyHelpers

/// A wake-up for one waiter at a time that is never lost: a signal sent
/// while nobody waits is kept for the next wait. `wait(atMost:)` also ends
/// at its time limit, when the waiting task is cancelled, or for good once
/// the signal is closed.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var closed = false
        var waiter: (id: Int, continuation: CheckedContinuation<Void, Never>)?
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    func signal() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    func close() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume()
    }

    /// Waits for a signal (or one sent since the last wait), at most
    /// `limit`; false once the signal is closed.
    func wait(atMost limit: Duration) async -> Bool {
        let id = state.withLockedValue { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            self?.resume(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.pending || state.closed || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            resume(id)
        }
        return state.withLockedValue { !$0.closed }
    }

    /// Ends the wait `id` if it is still waiting (its time is up, or its task cancelled).
    private func resume(_ id: Int) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
