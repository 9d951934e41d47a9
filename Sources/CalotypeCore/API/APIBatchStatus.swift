/// `GET /batches/{id}`: where a posted batch stands and its results so far.
public struct APIBatchStatus: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        case running, completed, cancelled
    }

    public var batchID: String
    public var status: State
    public var total: Int
    /// Items with a result or an error so far.
    public var completed: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
    /// Set once the batch is over.
    public var durationMs: Double?
    /// When it was posted, ISO 8601 in UTC.
    public var createdAt: String
    public var eventsURL: String
    public var statusURL: String
    /// The id of the latest event: `Last-Event-ID` to read only what comes next.
    public var lastEventID: Int
    /// Every item finished so far, in input order.
    public var results: [APIBatchItem]

    public init(
        batchID: String,
        status: State,
        total: Int,
        completed: Int,
        succeeded: Int,
        failed: Int,
        cancelled: Int,
        durationMs: Double?,
        createdAt: String,
        eventsURL: String,
        statusURL: String,
        lastEventID: Int,
        results: [APIBatchItem]
    ) {
        self.batchID = batchID
        self.status = status
        self.total = total
        self.completed = completed
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
        self.durationMs = durationMs
        self.createdAt = createdAt
        self.eventsURL = eventsURL
        self.statusURL = statusURL
        self.lastEventID = lastEventID
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case status, total, completed, succeeded, failed, cancelled
        case durationMs = "duration_ms"
        case createdAt = "created_at"
        case eventsURL = "events_url"
        case statusURL = "status_url"
        case lastEventID = "last_event_id"
        case results
    }
}

/// The answer of `POST /batches` (202, with `Location` the status URL).
public struct APIBatchCreated: Codable, Sendable, Hashable {
    public var batchID: String
    public var status: APIBatchStatus.State
    public var total: Int
    public var eventsURL: String
    public var statusURL: String

    public init(batchID: String, status: APIBatchStatus.State, total: Int, eventsURL: String, statusURL: String) {
        self.batchID = batchID
        self.status = status
        self.total = total
        self.eventsURL = eventsURL
        self.statusURL = statusURL
    }

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id"
        case status, total
        case eventsURL = "events_url"
        case statusURL = "status_url"
    }
}
