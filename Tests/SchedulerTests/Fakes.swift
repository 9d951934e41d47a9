import CalotypeCore
import Foundation
import NIOConcurrencyHelpers
import Scheduler
import Testing

/// A PNG header declaring `width` x `height`: enough for the scheduler to
/// read the size; fake backends never decode it.
func fakeImage(_ name: String, width: Int = 1000, height: Int = 1000) -> ImageInput {
    var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
    for value in [width, height] {
        bytes += [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
    bytes += [8, 2, 0, 0, 0]
    return ImageInput(bytes: bytes, name: name)
}

func fakeResult(_ input: ImageInput, backend: String) -> ProcessedImage {
    ProcessedImage(
        bytes: EncodedBytes(Array((input.name ?? "").utf8)),
        format: .png,
        width: 1,
        height: 1,
        sourceFormat: .png,
        backend: backend,
        timings: StageTimings()
    )
}

/// What a gated job does when the test lets it go.
enum GateOutcome: Sendable {
    case succeed
    case fail(ProcessingError)
}

/// Holds every job of the backends that use it until the test releases it,
/// and records the order jobs started in and how many ran at once.
final class Gate: Sendable {
    private struct State {
        var started: [String] = []
        var waiting: [(name: String, resume: CheckedContinuation<GateOutcome?, Never>)] = []
        var inFlight: [String: Int] = [:]
        var maxInFlight: [String: Int] = [:]
        var cancelled: [String] = []
        var startWaiters: [(count: Int, resume: CheckedContinuation<Void, Never>)] = []
    }

    private let state = NIOLockedValueBox(State())

    var started: [String] { state.withLockedValue { $0.started } }
    var cancelled: [String] { state.withLockedValue { $0.cancelled } }
    func maxInFlight(_ backend: String) -> Int { state.withLockedValue { $0.maxInFlight[backend] ?? 0 } }
    func inFlight(_ backend: String) -> Int { state.withLockedValue { $0.inFlight[backend] ?? 0 } }

    /// Called by a backend: records the start and waits for the test's word
    /// (nil when the job is cancelled first).
    func enter(_ name: String, backend: String) async -> GateOutcome? {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (ready, cancelledFirst) = state.withLockedValue { state -> ([CheckedContinuation<Void, Never>], Bool) in
                    state.started.append(name)
                    state.inFlight[backend, default: 0] += 1
                    state.maxInFlight[backend] = max(state.maxInFlight[backend] ?? 0, state.inFlight[backend] ?? 0)
                    // Cancelled before this registration (a 50 ms deadline
                    // under ThreadSanitizer passed before the job got here):
                    // `onCancel` found nothing to resume, so nothing would.
                    let cancelledFirst = Task.isCancelled
                    if cancelledFirst {
                        state.cancelled.append(name)
                    } else {
                        state.waiting.append(("\(id)|\(name)", continuation))
                    }
                    let count = state.started.count
                    let ready = state.startWaiters.filter { $0.count <= count }.map(\.resume)
                    state.startWaiters.removeAll { $0.count <= count }
                    return (ready, cancelledFirst)
                }
                for waiter in ready { waiter.resume() }
                if cancelledFirst { continuation.resume(returning: nil) }
            }
        } onCancel: {
            let continuation = state.withLockedValue { state -> CheckedContinuation<GateOutcome?, Never>? in
                guard let index = state.waiting.firstIndex(where: { $0.name == "\(id)|\(name)" }) else { return nil }
                state.cancelled.append(name)
                return state.waiting.remove(at: index).resume
            }
            continuation?.resume(returning: nil)
        }
    }

    func leave(backend: String) {
        state.withLockedValue { $0.inFlight[backend, default: 0] -= 1 }
    }

    /// Waits until `count` jobs have started in all.
    func waitUntilStarted(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { state -> Bool in
                if state.started.count >= count { return true }
                state.startWaiters.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Lets the job for input `name` finish.
    func release(_ name: String, _ outcome: GateOutcome = .succeed) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<GateOutcome?, Never>? in
            guard let index = state.waiting.firstIndex(where: { $0.name.hasSuffix("|\(name)") }) else { return nil }
            return state.waiting.remove(at: index).resume
        }
        #expect(continuation != nil, "no running job for \(name)")
        continuation?.resume(returning: outcome)
    }
}

/// A backend whose jobs finish when the test releases them.
struct GatedBackend: ImageBackend {
    let name: String
    let kind: BackendKind
    let supportedOperations: Set<OperationKind>
    let gate: Gate
    var maximumPixels = Int.max

    init(_ name: String, kind: BackendKind, gate: Gate, supported: Set<OperationKind> = Set(OperationKind.allCases)) {
        self.name = name
        self.kind = kind
        self.gate = gate
        self.supportedOperations = supported
    }

    func canHold(_ size: ImageSize) -> Bool {
        let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        return !overflow && pixels <= maximumPixels
    }

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        let outcome = await gate.enter(input.name ?? "", backend: name)
        gate.leave(backend: name)
        switch outcome {
        case .succeed: return fakeResult(input, backend: name)
        case .fail(let error): throw error
        case nil: throw ProcessingError(.cancelled, "cancelled")
        }
    }
}

/// A backend that finishes at once (after yielding), counting how many of
/// its jobs overlap.
final class CountingBackend: ImageBackend {
    let name = "counting"
    let kind = BackendKind.cpu
    let supportedOperations = Set(OperationKind.allCases)
    private let counts = NIOLockedValueBox((now: 0, max: 0, total: 0))

    var maxInFlight: Int { counts.withLockedValue { $0.max } }
    var total: Int { counts.withLockedValue { $0.total } }

    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage {
        counts.withLockedValue { counts in
            counts.now += 1
            counts.total += 1
            counts.max = max(counts.max, counts.now)
        }
        for _ in 0..<5 { await Task.yield() }
        counts.withLockedValue { $0.now -= 1 }
        return fakeResult(input, backend: name)
    }
}

/// Collects the scheduler's events and waits for the ones a test needs.
final class EventLog: Sendable {
    private let state = NIOLockedValueBox(
        (events: [Scheduler.Event](), waiters: [(predicate: @Sendable ([Scheduler.Event]) -> Bool, resume: CheckedContinuation<Void, Never>)]())
    )

    var observer: @Sendable (Scheduler.Event) -> Void {
        { [self] event in
            let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.events.append(event)
                let events = state.events
                let ready = state.waiters.filter { $0.predicate(events) }.map(\.resume)
                state.waiters.removeAll { $0.predicate(events) }
                return ready
            }
            for waiter in ready { waiter.resume() }
        }
    }

    var events: [Scheduler.Event] { state.withLockedValue { $0.events } }

    func count(_ kind: Scheduler.Event.Kind) -> Int { events.filter { $0.kind == kind }.count }

    /// Waits until `count` events of `kind` have happened.
    func waitFor(_ count: Int, _ kind: Scheduler.Event.Kind) async {
        await withCheckedContinuation { continuation in
            let predicate: @Sendable ([Scheduler.Event]) -> Bool = { events in events.filter { $0.kind == kind }.count >= count }
            let now = state.withLockedValue { state -> Bool in
                if predicate(state.events) { return true }
                state.waiters.append((predicate, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = NIOLockedValueBox(ContinuousClock.now)
    var now: @Sendable () -> ContinuousClock.Instant { { [self] in current.withLockedValue { $0 } } }
    func advance(by duration: Duration) { current.withLockedValue { $0 += duration } }
}

let plainRecipe = Recipe([.grayscale(Grayscale())])
func blurRecipe() throws -> Recipe { Recipe([.blur(try Blur(sigma: 1))]) }

/// Submits `request`, lets it finish as soon as it starts, and returns its result.
func runReleased(_ scheduler: Scheduler, _ request: JobRequest, gate: Gate) async throws -> JobResult {
    let name = request.input.name ?? ""
    let startedBefore = gate.started.count
    let task = Task { try await scheduler.submit(request) }
    await gate.waitUntilStarted(startedBefore + 1)
    gate.release(name)
    return try await task.value
}

/// The scheduler error's code, for `#expect(throws:)` checks.
func code(_ error: any Error) -> String? {
    (error as? SchedulerError)?.code
}
