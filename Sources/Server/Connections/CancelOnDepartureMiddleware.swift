import Hummingbird
import Scheduler

/// Runs a route's work cancelled when its client goes: nobody would read
/// the answer. For the routes that answer one image (`/process`, `/img`);
/// `/process-and-save` runs to its end whoever waits, and the batch
/// answers watch their client themselves (a streamed body outlives this).
///
/// A client gone mid-work gets 503 `cancelled` (written to nobody, but
/// counted and logged as what it was).
struct CancelOnDepartureMiddleware: RouterMiddleware {
    let departures: ClientDepartures

    func handle(
        _ request: Request,
        context: CalotypeRequestContext,
        next: (Request, CalotypeRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await withoutActuallyEscaping(next) { next in
                // The route runs in a child of `cancellingOnDeparture`'s
                // group while this task waits for that group: `next` is
                // called only within this scope, from one task at a time.
                let route = UncheckedTransfer(next)
                return try await departures.cancellingOnDeparture(of: context.channel) {
                    try await route.value(request, context)
                }
            }
        } catch is CancellationError {
            throw APIError(SchedulerError.cancelled)
        }
    }
}

/// A value handed to a child task that the compiler cannot prove is used
/// by one task at a time; each use says why it is.
struct UncheckedTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
