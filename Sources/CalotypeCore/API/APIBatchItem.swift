/// One item of a batch answer, as `/process-batch` returns it, the streams
/// send it in `result` events and `GET /batches/{id}` lists it.
public struct APIBatchItem: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, Hashable {
        case ok, error
    }

    public var batchID: String?
    /// Its position in the upload, from 0.
    public var index: Int
    public var filename: String?
    public var status: Status
    /// The lane that ran it (`libvips`, `opencl:0`).
    public var backend: String?
    /// True when it ran somewhere other than asked, or was retried on the CPU.
    public var fallback: Bool?
    public var width: Int?
    public var height: Int?
    public var format: OutputFormat?
    public var bytes: Int?
    /// Queue wait plus processing.
    public var durationMs: Double?
    /// Where the result can be fetched (`/results/{id}`) while it is kept.
    public var url: String?
    /// Where `/process-and-save` stored it.
    public var savedTo: String?
    public var error: APIErrorDetail?
    /// The result itself, base64, when `inline=true` was asked for.
    public var data: String?

    public init(batchID: String?, index: Int, filename: String?, status: Status, error: APIErrorDetail? = nil) {
        self.batchID = batchID
        self.index = index
        self.filename = filename
        self.status = status
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case index, filename, status, backend, fallback, width, height, format, bytes
        case durationMs = "duration_ms"
        case url
        case savedTo = "saved_to"
        case error, data
    }

    /// The path of the result store's URLs, before the id.
    public static let resultsPath = "/results/"

    /// The result store's id in `url`.
    public var resultID: String? {
        guard let url, url.hasPrefix(Self.resultsPath) else { return nil }
        return String(url.dropFirst(Self.resultsPath.count))
    }

    /// Whether it was cancelled (its batch was) rather than failed.
    public var wasCancelled: Bool { error?.code == .cancelled }
}

/// The closing numbers of a batch: the `complete` event, and with every
/// item the answer of `/process-batch` and `/process-and-save`.
public struct APIBatchSummary: Codable, Sendable, Hashable {
    public var batchID: String
    public var total: Int
    public var succeeded: Int
    public var failed: Int
    /// Items that never finished because the batch was cancelled.
    public var cancelled: Int
    public var durationMs: Double
    /// Every item in upload order, where the answer carries them.
    public var results: [APIBatchItem]?

    public init(batchID: String, total: Int, succeeded: Int, failed: Int, cancelled: Int, durationMs: Double, results: [APIBatchItem]? = nil) {
        self.batchID = batchID
        self.total = total
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
        self.durationMs = durationMs
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case total, succeeded, failed, cancelled
        case durationMs = "duration_ms"
        case results
    }
}
