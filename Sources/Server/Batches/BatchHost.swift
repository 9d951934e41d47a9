import CalotypeCore
import Scheduler

/// Where the batches posted to `/batches` live when this process is not
/// their only home: the composition root's cluster host keeps them in a
/// shared database, so that any node serves any batch's status, events and
/// cancel, and every node runs its items. Without one (the default), the
/// server keeps its batches itself (`BatchRegistry`).
public protocol BatchHost: Sendable {
    /// Accepts a batch (its uploads stored where every node reads them)
    /// and answers at once; its items run as nodes become free.
    func post(_ submission: BatchSubmission) async throws(APIError) -> APIBatchCreated
    /// `GET /batches/{id}`.
    func status(of id: String) async throws(APIError) -> APIBatchStatus
    /// `GET /batches/{id}/events`, after the event `lastEventID` (0: from the start).
    func events(of id: String, after lastEventID: Int) async throws(APIError) -> BatchEventStream
    /// `DELETE /batches/{id}`: its items not ended end `cancelled`, wherever they run.
    func cancel(_ id: String) async throws(APIError) -> APIBatchStatus
}

/// A batch as a host receives it.
public struct BatchSubmission: Sendable {
    public var items: [BatchInput]
    public var recipe: Recipe
    public var placement: Placement
    public var strictPlacement: Bool
    /// The `destination` it named, checked against the allow-list already.
    public var destination: String?
}

/// A batch's event stream, as `GET /batches/{id}/events` serves it.
public enum BatchEventStream: Sendable {
    /// The events after the one asked for (encoded for the wire, with their
    /// ids), then live ones until `complete`; `keepAlive` sends a comment on
    /// this stream alone.
    case events(AsyncStream<String>, keepAlive: @Sendable () -> Void)
    /// The client has seen every event and there will be no more.
    case finished
    /// The client names an event this batch has not sent (yet): the latest id.
    case unknownEvent(latest: Int)
}
