import CalotypeCore

/// One item of a batch: its name, what it will cost (for the start order),
/// and its bytes, given or read when the item starts.
///
/// `calotype process` reads each file only when its item starts, so that a
/// folder of thousands of photos is never all in memory; the server's items
/// arrive with the upload.
public struct BatchItem: Sendable {
    public var name: String?
    /// What processing it will cost, in megapixels (an estimate is enough:
    /// it only orders the starts).
    public var estimatedMegapixels: Double
    let load: @Sendable () async throws(SchedulerError) -> LoadedInput

    /// An item whose bytes are at hand.
    public init(_ input: ImageInput) {
        name = input.name
        estimatedMegapixels = input.estimatedMegapixels
        load = { LoadedInput(input) }
    }

    /// An item read when it starts; a failure to read it fails it alone.
    public init(
        name: String?,
        estimatedMegapixels: Double,
        load: @escaping @Sendable () async throws(SchedulerError) -> LoadedInput
    ) {
        self.name = name
        self.estimatedMegapixels = estimatedMegapixels
        self.load = load
    }
}

/// An item's bytes once read, with their share of the memory budget (a
/// fetched source's), held until the item's job has ended.
public struct LoadedInput: Sendable {
    public var input: ImageInput
    public var hold: MemoryBudget.Hold?

    public init(_ input: ImageInput, hold: MemoryBudget.Hold? = nil) {
        self.input = input
        self.hold = hold
    }
}

/// How a batch's items run: one recipe, where, and how many at a time.
public struct BatchPlan: Sendable {
    public var recipe: Recipe
    public var placement: Placement
    /// When true, `placement` is a requirement: no fallback to another kind of lane.
    public var strictPlacement: Bool
    /// Items in flight at once; nil: every worker of every lane
    /// (`Scheduler.workerCount`), so that a GPU lane's workers count too.
    /// 1: one after another, in input order.
    public var parallelism: Int?
    /// Whom its items are for.
    public var tenant: JobTenant

    public init(
        recipe: Recipe,
        placement: Placement = .auto,
        strictPlacement: Bool = false,
        parallelism: Int? = nil,
        tenant: JobTenant = .shared
    ) {
        self.tenant = tenant
        self.recipe = recipe
        self.placement = placement
        self.strictPlacement = strictPlacement
        self.parallelism = parallelism
    }
}

/// How one item of a batch ended, as the batch counts it.
public enum BatchItemEnd: Sendable, Hashable {
    case succeeded
    case failed
    /// It was stopped, or never started, because the batch was cancelled.
    case cancelled
}

/// What a caller makes of an item's result (an API item, a written file):
/// it says how the item ended, so that the runner keeps the counts.
public protocol BatchItemOutcome: Sendable {
    var end: BatchItemEnd { get }
}

/// The counts of a finished batch.
public struct BatchTally: Sendable, Hashable {
    public var total: Int
    public var succeeded = 0
    public var failed = 0
    /// Items stopped by the batch's cancellation, or never started.
    public var cancelled: Int { total - succeeded - failed }
    /// Items that never started because the batch was cancelled, in input
    /// order (each still owed a report by callers that promise one per item).
    public var neverStarted: [Int] = []

    public init(total: Int) {
        self.total = total
    }
}

extension Scheduler {
    /// Items in flight at once when a batch does not say: every worker of
    /// every lane, CPU and GPU.
    public nonisolated var defaultBatchParallelism: Int { max(1, workerCount) }

    /// The one batch loop: runs `items` with `plan`, a bounded number at a
    /// time, as batch-priority jobs that share the lanes with other batches
    /// in turn.
    ///
    /// With several at a time, items start in `BatchOrder` (the smallest,
    /// then the largest first) so that the workers finish together; one at a
    /// time, in input order. For each item `started` is called when a worker
    /// takes it (on any thread; keep it cheap), then `complete` turns its
    /// result into the caller's outcome (storing or writing it: still part of
    /// the item's time in flight, so with parallelism 1 the next item starts
    /// only after it), and `finished` reports the outcome, one at a time, on
    /// the calling task. Cancelling the calling task stops the running items
    /// and starts no more; those are in the tally's `neverStarted`.
    public nonisolated func runBatch<Outcome: BatchItemOutcome>(
        _ items: [BatchItem],
        plan: BatchPlan,
        started: @escaping @Sendable (_ index: Int, _ lane: String) -> Void = { _, _ in },
        complete: @escaping @Sendable (_ index: Int, _ result: Result<JobResult, SchedulerError>) async -> Outcome,
        finished: (_ index: Int, _ outcome: Outcome) async -> Void
    ) async -> BatchTally {
        let parallelism = max(1, plan.parallelism ?? defaultBatchParallelism)
        let batch = await makeBatchID()
        var tally = BatchTally(total: items.count)
        let order = BatchOrder.indices(costs: items.map(\.estimatedMegapixels), parallelism: parallelism)
        // A cancelled batch starts nothing more: those are `neverStarted`.
        tally.neverStarted = await runSlidingWindow(over: order, width: parallelism) { index in
            let item = items[index]
            let result: Result<JobResult, SchedulerError>
            do throws(SchedulerError) {
                let loaded = try await item.load()
                defer { loaded.hold?.release() }
                let request = JobRequest(
                    input: loaded.input,
                    recipe: plan.recipe,
                    placement: plan.placement,
                    strictPlacement: plan.strictPlacement,
                    priority: .batch,
                    batch: batch,
                    tenant: plan.tenant,
                    onStarted: { lane in started(index, lane) }
                )
                result = .success(try await self.submit(request))
            } catch {
                result = .failure(error)
            }
            return await complete(index, result)
        } finished: { index, outcome in
            switch outcome.end {
            case .succeeded: tally.succeeded += 1
            case .failed: tally.failed += 1
            case .cancelled: break
            }
            await finished(index, outcome)
            return true
        }.sorted()
        return tally
    }
}

/// An item's scheduler result as it is, for callers that want nothing more.
public struct BatchItemResult: BatchItemOutcome {
    public var index: Int
    public var name: String?
    public var outcome: Result<JobResult, SchedulerError>

    public init(index: Int, name: String?, outcome: Result<JobResult, SchedulerError>) {
        self.index = index
        self.name = name
        self.outcome = outcome
    }

    public var end: BatchItemEnd {
        switch outcome {
        case .success: .succeeded
        case .failure(let error) where error.isCancellation: .cancelled
        case .failure: .failed
        }
    }
}

extension Scheduler {
    /// Runs `inputs` through `runBatch` and yields each result as it
    /// finishes, in completion order; ending the iteration early cancels the
    /// rest. For tests that read a batch as a sequence (package: no part of
    /// the API).
    package nonisolated func batch(_ inputs: [ImageInput], plan: BatchPlan) -> AsyncStream<BatchItemResult> {
        let (stream, continuation) = AsyncStream.makeStream(of: BatchItemResult.self)
        let task = Task {
            _ = await runBatch(
                inputs.map(BatchItem.init),
                plan: plan,
                complete: { index, result in BatchItemResult(index: index, name: inputs[index].name, outcome: result) },
                finished: { _, item in continuation.yield(item) }
            )
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
