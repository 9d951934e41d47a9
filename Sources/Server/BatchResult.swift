import CalotypeCore
import Foundation
import Scheduler

/// One item of a batch answer, as `/process-batch` returns it and the
/// streams send it in `result` events.
struct BatchItemJSON: Codable, Sendable {
    struct ErrorJSON: Codable, Sendable {
        var code: String
        var message: String
    }

    var batchID: String?
    var index: Int
    var filename: String?
    var status: String
    var backend: String?
    var fallback: Bool?
    var width: Int?
    var height: Int?
    var format: String?
    var bytes: Int?
    var durationMs: Double?
    var url: String?
    var savedTo: String?
    var error: ErrorJSON?
    var data: String?

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id", index, filename, status, backend, fallback, width, height, format, bytes
        case durationMs = "duration_ms", url, savedTo = "saved_to", error, data
    }

    /// The result store's id in `url`.
    var resultID: String? {
        guard let url, url.hasPrefix(Self.resultsPath) else { return nil }
        return String(url.dropFirst(Self.resultsPath.count))
    }

    static let resultsPath = "/results/"
}

/// The closing numbers of a batch.
struct BatchSummaryJSON: Codable, Sendable {
    var batchID: String
    var total: Int
    var succeeded: Int
    var failed: Int
    /// Items that never finished because the batch was cancelled.
    var cancelled: Int
    var durationMs: Double
    var results: [BatchItemJSON]?

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id", total, succeeded, failed, cancelled, durationMs = "duration_ms", results
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

/// Runs an upload's images through the scheduler and turns each outcome into
/// its JSON item, keeping successful results in the result store.
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

    init(upload: Upload, scheduler: Scheduler, results: ResultStore, statistics: EndpointStatistics, endpoint: String, saver: (any ResultSink)? = nil) {
        self.id = UUID().uuidString.lowercased()
        self.saver = saver
        self.upload = upload
        self.scheduler = scheduler
        self.results = results
        self.statistics = statistics
        self.endpoint = endpoint
    }

    /// Runs every item, `parallelism` at a time, calling `started` when a
    /// worker takes an item and `finished` with each item's JSON as it ends.
    /// An item counts as in flight until its result is stored and reported,
    /// so with parallelism 1 the next item starts only after that.
    func run(
        parallelism: Int,
        started: @escaping @Sendable (Int) -> Void = { _ in },
        finished: (BatchItemJSON) async -> Void
    ) async -> BatchSummaryJSON {
        let clock = ContinuousClock()
        let start = clock.now
        let batch = await scheduler.makeBatchID()
        var succeeded = 0
        var failed = 0
        await withTaskGroup(of: BatchItemJSON.self) { group in
            // Several at a time: the smallest first, then the largest first, so the workers finish together.
            var pending = BatchOrder.indices(of: upload.files, parallelism: parallelism).makeIterator()
            func startNext() {
                // A cancelled batch (its client went away) starts nothing more.
                guard !Task.isCancelled, let index = pending.next() else { return }
                group.addTask { await self.process(index, batch: batch, started: started) }
            }
            for _ in 0..<max(1, parallelism) { startNext() }
            while let json = await group.next() {
                if json.status == "ok" {
                    succeeded += 1
                } else if json.error?.code != "cancelled" {
                    failed += 1
                }
                await finished(json)
                startNext()
            }
        }
        let report = BatchReport(
            endpoint: endpoint, total: upload.files.count, succeeded: succeeded, failed: failed,
            cancelled: upload.files.count - succeeded - failed)
        await statistics.record(report)
        observer?(report)
        return BatchSummaryJSON(
            batchID: id, total: upload.files.count, succeeded: succeeded, failed: failed, cancelled: report.cancelled,
            durationMs: (clock.now - start).seconds * 1000, results: nil)
    }

    /// Runs every item and returns the summary with every item's JSON in
    /// upload order (the answer of the endpoints that do not stream).
    func collected(parallelism: Int) async -> BatchSummaryJSON {
        let items = ItemCollector()
        var summary = await run(parallelism: parallelism) { await items.add($0) }
        summary.results = await items.inUploadOrder
        return summary
    }

    private func process(_ index: Int, batch: BatchID, started: @escaping @Sendable (Int) -> Void) async -> BatchItemJSON {
        let input = upload.files[index]
        let request = JobRequest(
            input: input, recipe: upload.recipe, placement: upload.placement, strictPlacement: upload.strictPlacement,
            priority: .batch, batch: batch, onStarted: { _ in started(index) })
        let outcome: Result<JobResult, SchedulerError>
        do throws(SchedulerError) {
            outcome = .success(try await scheduler.submit(request))
        } catch {
            outcome = .failure(error)
        }
        return await json(for: BatchItemResult(index: index, name: input.name, outcome: outcome))
    }

    private func json(for item: BatchItemResult) async -> BatchItemJSON {
        var json = BatchItemJSON(batchID: id, index: item.index, filename: item.name, status: "error")
        switch item.outcome {
        case .success(let result):
            json.status = "ok"
            json.backend = result.lane
            json.fallback = result.fallback
            json.width = result.image.width
            json.height = result.image.height
            json.format = result.image.format.rawValue
            json.bytes = result.image.bytes.count
            json.durationMs = (result.queueWait + result.serviceTime).seconds * 1000
            if let stored = await results.put(result.image.bytes, format: result.image.format) {
                json.url = BatchItemJSON.resultsPath + stored
            }
            if upload.inline { json.data = Data(result.image.bytes).base64EncodedString() }
            if let saver {
                do {
                    json.savedTo = try await saver.save(result.image.bytes, name: item.name, format: result.image.format)
                } catch {
                    json.status = "error"
                    json.error = .init(code: "save_failed", message: "storing the result failed (\(error)); it is still at its url")
                }
            }
        case .failure(let error):
            let api = APIError(error)
            json.error = .init(code: api.code, message: api.message)
        }
        return json
    }
}

/// The items of a batch as they end, for an answer given once all have.
private actor ItemCollector {
    private var items: [BatchItemJSON] = []

    func add(_ item: BatchItemJSON) { items.append(item) }

    var inUploadOrder: [BatchItemJSON] { items.sorted { $0.index < $1.index } }
}
