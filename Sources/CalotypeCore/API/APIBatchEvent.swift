import Foundation

/// One event of a batch's stream, as `/process-batch-stream`,
/// `/process-batch-fast` and `GET /batches/{id}/events` send them: the SSE
/// `event:` field is `name`, the `data:` field the payload as one line of JSON.
public enum APIBatchEvent: Sendable, Hashable {
    /// An item was queued, started or is done.
    case progress(Progress)
    /// An item succeeded.
    case result(APIBatchItem)
    /// An item failed (or was cancelled before it could finish).
    case error(ItemError)
    /// The batch is over; always the last event.
    case complete(APIBatchSummary)

    /// The SSE event names, as the stream spells them.
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case progress, result, error, complete
    }

    public var name: Name {
        switch self {
        case .progress: .progress
        case .result: .result
        case .error: .error
        case .complete: .complete
        }
    }

    /// The payload as one line of JSON with sorted keys.
    public var data: String {
        let encoded: Data? =
            switch self {
            case .progress(let progress): try? APIJSON.encode(progress)
            case .result(let item): try? APIJSON.encode(item)
            case .error(let error): try? APIJSON.encode(error)
            case .complete(let summary): try? APIJSON.encode(summary)
            }
        return encoded.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The event a stream sent as `event: name` and `data: data`; nil for an
    /// event name this version does not know (a client ignores those).
    public init?(name: String, data: String) throws {
        guard let known = Name(rawValue: name) else { return nil }
        let bytes = Data(data.utf8)
        switch known {
        case .progress: self = .progress(try APIJSON.decode(Progress.self, from: bytes))
        case .result: self = .result(try APIJSON.decode(APIBatchItem.self, from: bytes))
        case .error: self = .error(try APIJSON.decode(ItemError.self, from: bytes))
        case .complete: self = .complete(try APIJSON.decode(APIBatchSummary.self, from: bytes))
        }
    }

    public struct Progress: Codable, Sendable, Hashable {
        public enum Stage: String, Codable, Sendable, Hashable {
            case queued, started, done
        }

        public var batchID: String
        public var index: Int
        public var filename: String?
        public var stage: Stage
        /// Items finished so far, this one included on `done`.
        public var completed: Int
        public var total: Int

        public init(batchID: String, index: Int, filename: String?, stage: Stage, completed: Int, total: Int) {
            self.batchID = batchID
            self.index = index
            self.filename = filename
            self.stage = stage
            self.completed = completed
            self.total = total
        }

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id"
            case index
            case filename
            case stage
            case completed
            case total
        }
    }

    /// An item's failure: its error's code and message beside the item's
    /// batch, index and name (flat, as the stream has always sent it).
    public struct ItemError: Codable, Sendable, Hashable {
        public var batchID: String
        public var index: Int
        public var filename: String?
        public var code: APIErrorCode
        public var message: String

        public init(batchID: String, index: Int, filename: String?, code: APIErrorCode, message: String) {
            self.batchID = batchID
            self.index = index
            self.filename = filename
            self.code = code
            self.message = message
        }

        enum CodingKeys: String, CodingKey {
            case batchID = "batch_id"
            case index
            case filename
            case code
            case message
        }
    }
}
