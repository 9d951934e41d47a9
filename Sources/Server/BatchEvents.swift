import Foundation
import NIOConcurrencyHelpers

/// One event of a batch's stream, as `/process-batch-stream`,
/// `/process-batch-fast` and `GET /batches/{id}/events` send them.
enum BatchEvent: Sendable {
    /// An item was queued, started or is done.
    case progress(Progress)
    /// An item succeeded.
    case result(BatchItemJSON)
    /// An item failed (or was cancelled before it could finish).
    case error(ItemError)
    /// The batch is over; always the last event.
    case complete(BatchSummaryJSON)

    /// The SSE `event:` field.
    var name: String {
        switch self {
        case .progress: "progress"
        case .result: "result"
        case .error: "error"
        case .complete: "complete"
        }
    }

    /// The SSE `data:` field: the payload as one line of JSON with sorted keys.
    var data: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let encoded: Data? = switch self {
        case .progress(let progress): try? encoder.encode(progress)
        case .result(let item): try? encoder.encode(item)
        case .error(let error): try? encoder.encode(error)
        case .complete(let summary): try? encoder.encode(summary)
        }
        return encoded.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    struct Progress: Codable, Sendable {
        let batchID: String
        let index: Int
        let filename: String?
        /// `queued`, `started` or `done`.
        let stage: String
        /// Items finished so far, this one included on `done`.
        let completed: Int
        let total: Int

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id", index, filename, stage, completed, total
        }
    }

    struct ItemError: Codable, Sendable {
        let batchID: String
        let index: Int
        let filename: String?
        let code: String
        let message: String

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id", index, filename, code, message
        }
    }
}

extension BatchRun {
    /// Runs the batch and tells `emit` its events in stream order: `queued`
    /// for every item, then per item `started`, its `result` or `error`, and
    /// `done`; an `error` with code `cancelled` for each item a cancelled batch
    /// never ran (so every item gets exactly one `result` or `error`); and
    /// `complete` last.
    func runEmittingEvents(parallelism: Int, emit: @escaping @Sendable (BatchEvent) -> Void) async -> BatchSummaryJSON {
        let total = upload.files.count
        let names = upload.files.map(\.name)
        for index in 0..<total {
            emit(.progress(.init(batchID: id, index: index, filename: names[index], stage: "queued", completed: 0, total: total)))
        }
        let completed = Counter()
        var reported = Set<Int>()
        var summary = await run(
            parallelism: parallelism,
            started: { [id] index in
                let done = completed.value
                emit(.progress(.init(batchID: id, index: index, filename: names[index], stage: "started", completed: done, total: total)))
            },
            finished: { item in
                reported.insert(item.index)
                if let error = item.error {
                    emit(.error(.init(batchID: id, index: item.index, filename: item.filename, code: error.code, message: error.message)))
                } else {
                    emit(.result(item))
                }
                let done = completed.increment()
                emit(.progress(.init(batchID: id, index: item.index, filename: item.filename, stage: "done", completed: done, total: total)))
            })
        for index in 0..<total where !reported.contains(index) {
            emit(.error(.init(batchID: id, index: index, filename: names[index], code: "cancelled", message: "the batch was cancelled before this item ran")))
        }
        summary.results = nil
        emit(.complete(summary))
        return summary
    }
}

/// Items finished so far, read by progress callbacks on other tasks.
final class Counter: Sendable {
    private let count = NIOLockedValueBox(0)
    var value: Int { count.withLockedValue { $0 } }
    func increment() -> Int { count.withLockedValue { $0 += 1; return $0 } }
}
