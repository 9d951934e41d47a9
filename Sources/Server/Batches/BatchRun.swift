import CalotypeCore
import Foundation
import Scheduler

extension APIBatchItem: BatchItemOutcome {
    public var end: BatchItemEnd {
        switch status {
        case .ok: .succeeded
        case .error: wasCancelled ? .cancelled : .failed
        }
    }
}

/// How a batch ended, for statistics and observers. Items that never ran
/// because the batch was cancelled (its client went away) count as cancelled.
public struct BatchReport: Sendable, Hashable {
    public var endpoint: String
    public var total: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
}

/// Runs an upload's images through the scheduler's batch runner and turns
/// each outcome into its API item, keeping successful results in the result
/// store.
struct BatchRun: Sendable {
    let id: String
    let upload: Upload
    let scheduler: Scheduler
    let results: ResultStore
    let statistics: EndpointStatistics
    let endpoint: String
    /// Where `/process-and-save` keeps each result; nil elsewhere.
    var saver: (any ResultSink)?
    /// Told when the batch ends.
    var observer: (@Sendable (BatchReport) -> Void)?
    /// Whom its items run for: the tenant's turns and cap in the scheduler.
    var tenant: JobTenant = .shared
    /// The recipe's hash, in every result's name.
    let recipeHash: String
    /// The batch's result token, in every result's name: what makes its
    /// urls unguessable from the batch id.
    let resultToken: String
    /// The batch's index of the upload's first item: a cluster node runs
    /// one item of a larger batch at a time.
    var firstIndex = 0
    /// Whether each result is in the storage before its item is reported
    /// (a cluster's: the item's end is recorded for every node to see).
    var durableResults = false

    init(
        upload: Upload,
        scheduler: Scheduler,
        results: ResultStore,
        statistics: EndpointStatistics,
        endpoint: String,
        saver: (any ResultSink)? = nil,
        id: String = UUID().uuidString.lowercased(),
        resultToken: String = ResultName.newToken()
    ) {
        self.id = id
        self.resultToken = resultToken
        self.recipeHash = SavedItem.hash(of: upload.recipe)
        // A batch by reference names its own destination.
        self.saver = upload.destination ?? saver
        self.upload = upload
        self.scheduler = scheduler
        self.results = results
        self.statistics = statistics
        self.endpoint = endpoint
    }

    /// Runs every item, `parallelism` at a time, calling `started` when a
    /// worker takes an item and `finished` with each item as it ends. An item
    /// counts as in flight until its result is stored and reported, so with
    /// parallelism 1 the next item starts only after that.
    func run(
        parallelism: Int,
        started: @escaping @Sendable (Int) -> Void = { _ in },
        finished: (APIBatchItem) async -> Void
    ) async -> (summary: APIBatchSummary, neverStarted: [Int]) {
        let clock = ContinuousClock()
        let start = clock.now
        let plan = BatchPlan(
            recipe: upload.recipe,
            placement: upload.placement,
            strictPlacement: upload.strictPlacement,
            parallelism: parallelism,
            tenant: tenant
        )
        let tally = await scheduler.runBatch(
            upload.items.map(batchItem),
            plan: plan,
            started: { index, _ in started(index) },
            complete: { index, result in await item(index, result) },
            finished: { _, item in await finished(item) }
        )
        let report = BatchReport(
            endpoint: endpoint,
            total: tally.total,
            succeeded: tally.succeeded,
            failed: tally.failed,
            cancelled: tally.cancelled
        )
        statistics.record(report)
        observer?(report)
        let summary = APIBatchSummary(
            batchID: id,
            total: tally.total,
            succeeded: tally.succeeded,
            failed: tally.failed,
            cancelled: tally.cancelled,
            durationMs: (clock.now - start).seconds * 1000
        )
        return (summary, tally.neverStarted)
    }

    /// Runs every item and returns the summary with every item in upload
    /// order (the answer of the endpoints that do not stream).
    func collected(parallelism: Int) async -> APIBatchSummary {
        let items = ItemCollector()
        var summary = await run(parallelism: parallelism) { await items.add($0) }.summary
        summary.results = await items.inUploadOrder
        return summary
    }

    /// The scheduler's item for an upload's: its bytes, or a fetch of its
    /// source that runs when a worker is free for it, and fails that item
    /// alone (with the source's code) when it cannot be had.
    private func batchItem(_ item: Upload.Item) -> BatchItem {
        switch item {
        case .uploaded(let input):
            return BatchItem(input)
        case .source(let reference):
            let (fetcher, maxBytes, budget) = (upload.fetcher, upload.maxSourceBytes, scheduler.memoryBudget)
            // Its size is unknown until it is fetched: every source starts in the order given.
            return BatchItem(name: reference, estimatedMegapixels: 0) { () throws(SchedulerError) in
                guard let fetcher else { throw .sourceFailed(.notAllowed("no sources are configured")) }
                // The batch was admitted: its items wait for room until their deadline.
                let deadline = ContinuousClock.now + fetcher.timeout
                let booking = BudgetBooking(budget: budget, source: reference, wait: nil, until: deadline)
                defer { booking.release() }
                do throws(SourceError) {
                    let bytes = try await fetcher.fetch(reference, maxBytes: maxBytes, booking: booking, until: deadline).bytes
                    return LoadedInput(ImageInput(bytes: bytes, name: reference), hold: booking.held(bytes.capacity))
                } catch {
                    // The batch was cancelled (not the source's fault): the item is too.
                    if Task.isCancelled { throw .cancelled }
                    throw .sourceFailed(error)
                }
            }
        }
    }

    /// The API item for one result: stored (and saved, for
    /// `/process-and-save`) when it succeeded.
    private func item(_ index: Int, _ result: Result<JobResult, SchedulerError>) async -> APIBatchItem {
        let name = upload.items[index].name
        let index = firstIndex + index
        var item = APIBatchItem(batchID: id, index: index, filename: name, status: .error)
        switch result {
        case .success(let result):
            item.status = .ok
            item.backend = result.lane
            item.fallback = result.fallback
            item.width = result.image.width
            item.height = result.image.height
            item.format = result.image.format
            item.bytes = result.image.bytes.count
            item.durationMs = (result.queueWait + result.serviceTime).seconds * 1000
            let saved = SavedItem(batchID: id, index: index, name: item.filename, recipe: upload.recipe, recipeHash: recipeHash)
            let resultName = ResultName(
                batchID: id,
                index: index,
                recipeHash: saved.recipeHash,
                token: resultToken,
                fileExtension: result.image.format.fileExtension
            )
            // Kept until the result store has written it: one copy out of
            // the encoder's buffer, which goes with this scope.
            let bytes = Array(result.image.bytes)
            let stored =
                durableResults
                ? await results.putWritten(bytes, as: resultName, format: result.image.format, owner: tenant.name)
                : await results.put(bytes, as: resultName, format: result.image.format, owner: tenant.name)
            if let stored {
                item.url = APIBatchItem.resultsPath + stored
            } else if durableResults {
                return APIBatchItem(
                    batchID: id,
                    index: index,
                    filename: name,
                    status: .error,
                    error: APIErrorDetail(code: .clusterUnavailable, message: "the result could not be stored where every node reads it")
                )
            }
            if upload.inline { item.data = Data(bytes).base64EncodedString() }
            if let saver {
                do {
                    item.savedTo = try await saver.save(bytes, item: saved, format: result.image.format)
                } catch {
                    item.status = .error
                    item.error = APIErrorDetail(code: .saveFailed, message: "storing the result failed (\(error)); it is still at its url")
                }
            }
        case .failure(let error):
            item.error = APIError(error).detail
        }
        return item
    }
}

/// The items of a batch as they end, for an answer given once all have.
private actor ItemCollector {
    private var items: [APIBatchItem] = []

    func add(_ item: APIBatchItem) { items.append(item) }

    var inUploadOrder: [APIBatchItem] { items.sorted { $0.index < $1.index } }
}
