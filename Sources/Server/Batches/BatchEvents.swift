import CalotypeCore
import Foundation
import NIOConcurrencyHelpers

extension BatchRun {
    /// Runs the batch and tells `emit` its events in stream order: `queued`
    /// for every item, then per item `started`, its `result` or `error`, and
    /// `done`; an `error` with code `cancelled` for each item a cancelled batch
    /// never ran (so every item gets exactly one `result` or `error`); and
    /// `complete` last. `ended` is told each item, whole, before its event.
    func runEmittingEvents(
        parallelism: Int,
        ended: @escaping @Sendable (APIBatchItem) -> Void,
        emit: @escaping @Sendable (APIBatchEvent) -> Void
    ) async -> APIBatchSummary {
        let total = upload.items.count
        let names = upload.items.map(\.name)
        for index in 0..<total {
            emit(.progress(.init(batchID: id, index: index, filename: names[index], stage: .queued, completed: 0, total: total)))
        }
        let completed = EndedItems()
        let (finished, neverStarted) = await run(
            parallelism: parallelism,
            started: { [id] index in
                let done = completed.value
                emit(.progress(.init(batchID: id, index: index, filename: names[index], stage: .started, completed: done, total: total)))
            },
            finished: { item in
                ended(item)
                if let error = item.error {
                    emit(.error(.init(batchID: id, index: item.index, filename: item.filename, code: error.code, message: error.message)))
                } else {
                    emit(.result(item))
                }
                let done = completed.increment()
                emit(.progress(.init(batchID: id, index: item.index, filename: item.filename, stage: .done, completed: done, total: total)))
            }
        )
        for index in neverStarted {
            let error = APIErrorDetail(code: .cancelled, message: "the batch was cancelled before this item ran")
            ended(APIBatchItem(batchID: id, index: index, filename: names[index], status: .error, error: error))
            emit(.error(.init(batchID: id, index: index, filename: names[index], code: error.code, message: error.message)))
        }
        var summary = finished
        summary.results = nil
        emit(.complete(summary))
        return summary
    }
}

/// Items finished so far, read by progress callbacks on other tasks.
final class EndedItems: Sendable {
    private let count = NIOLockedValueBox(0)
    var value: Int { count.withLockedValue { $0 } }
    func increment() -> Int {
        count.withLockedValue {
            $0 += 1
            return $0
        }
    }
}
