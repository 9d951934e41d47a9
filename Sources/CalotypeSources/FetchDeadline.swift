import CalotypeCore
import NIOConcurrencyHelpers

/// One deadline for a whole fetch, whatever its origin does.
///
/// HTTP clients bound the wait for an answer's head; the body is read
/// after, and an origin that sent its head and 2 bytes then nothing held a
/// request for good (past 150 s, with a 10 s source timeout). Every
/// reader (HTTP, S3, local) runs under this instead.
public enum FetchDeadline {
    /// Runs `operation`, or throws `timeout` when `deadline` comes first or
    /// the caller is cancelled. The operation is then cancelled (a body being
    /// read stops and its connection is closed) and not waited for: work
    /// that cannot be cancelled (a system DNS lookup in its own timeouts)
    /// ends on its own, on its own threads, while the caller has its answer.
    public static func run<T: Sendable>(
        until deadline: ContinuousClock.Instant,
        source: String,
        _ operation: @escaping @Sendable () async throws(SourceError) -> T
    ) async throws(SourceError) -> T {
        let race = Race<T>()
        let work = Task {
            do throws(SourceError) {
                race.finish(.success(try await operation()))
            } catch {
                race.finish(.failure(error))
            }
        }
        let timer = Task {
            guard (try? await Task.sleep(until: deadline)) != nil else { return }
            race.finish(.failure(.timeout(source)))
        }
        let outcome = await withTaskCancellationHandler {
            await race.outcome()
        } onCancel: {
            race.finish(.failure(.timeout(source)))
        }
        work.cancel()
        timer.cancel()
        return try outcome.get()
    }

    /// The first of several outcomes, handed to one waiter.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var outcome: Result<T, SourceError>?
            var waiter: CheckedContinuation<Result<T, SourceError>, Never>?
        }

        private let state = NIOLockedValueBox(State())

        func outcome() async -> Result<T, SourceError> {
            await withCheckedContinuation { continuation in
                let ready = state.withLockedValue { state -> Result<T, SourceError>? in
                    if let outcome = state.outcome { return outcome }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }

        /// The first call decides; later ones do nothing.
        func finish(_ outcome: Result<T, SourceError>) {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Result<T, SourceError>, Never>? in
                guard state.outcome == nil else { return nil }
                state.outcome = outcome
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: outcome)
        }
    }
}
