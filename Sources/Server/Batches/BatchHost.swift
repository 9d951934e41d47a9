import CalotypeCore
import Scheduler

/// Where batches live and run. Every batch endpoint speaks only this
/// protocol: `/batches` and its status, events and cancel, and the
/// endpoints that answer a batch in the request that posted it
/// (`/process-batch`, its streaming forms, `/process-and-save`), whose
/// answers `BatchAnswers.swift` shapes from a host's events and status.
///
/// Two hosts implement it: `LocalBatchHost`, which runs a batch through
/// this process's scheduler (the default), and the composition root's
/// cluster host, which keeps batches in a shared database so that any node
/// serves any batch's status, events and cancel, and every node runs its
/// items.
public protocol BatchHost: Sendable {
    /// Accepts a batch (its uploads stored where every node reads them)
    /// and answers at once; its items run as workers become free.
    func post(_ submission: BatchSubmission) async throws(APIError) -> APIBatchCreated
    /// `GET /batches/{id}`. Each of these answers 404 for a batch another
    /// tenant posted (`Tenant.mayRead`): not 403, which would say it exists.
    func status(of id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus
    /// `GET /batches/{id}/events`, after the event `lastEventID` (0: from the start).
    func events(of id: String, after lastEventID: Int, for tenant: Tenant) async throws(APIError) -> BatchEventStream
    /// `DELETE /batches/{id}`: its items not ended end `cancelled`, wherever they run.
    func cancel(_ id: String, for tenant: Tenant) async throws(APIError) -> APIBatchStatus
    /// The request that posted a batch of lifetime `.request` has had its
    /// answer: a host may forget the batch now.
    func answered(_ id: String) async
}

extension BatchHost {
    /// Hosts that keep every batch for its results' lifetime forget none early.
    public func answered(_ id: String) async {}
}

/// A batch as a host receives it.
public struct BatchSubmission: Sendable {
    /// How long a host keeps a batch after it ends.
    public enum Lifetime: Sendable {
        /// Posted to `/batches`: readable by id until its results expire.
        case resource
        /// Answered by the request that posted it (`/process-batch` and
        /// the others): it may be forgotten once answered.
        case request
    }

    public var items: [BatchInput] { upload.items }
    public var recipe: Recipe { upload.recipe }
    public var placement: Placement { upload.placement }
    public var strictPlacement: Bool { upload.strictPlacement }
    /// The `destination` it named, checked against the allow-list already,
    /// or `saveTargetDestination` (`/process-and-save`).
    public let destination: String?
    public let lifetime: Lifetime
    /// The tenant that posted it (`Tenant.open` on an open server).
    public let owner: Tenant

    /// What this process read: the bytes and their share of the memory
    /// budget, the source fetcher, the destination's sink. The local host
    /// runs the batch from it; a cluster host stores its items.
    let upload: Upload
    /// The endpoint it came to, for the statistics.
    let endpoint: String
    /// Items in flight at once where this process runs it.
    let parallelism: Int

    /// The destination that tells whoever runs an item to save its result
    /// to that process's save target (`CALOTYPE_SAVE_DIR`,
    /// `CALOTYPE_SAVE_URL`) rather than to an allow-listed destination (no
    /// destination a client names has this form).
    public static let saveTargetDestination = "@save-target"
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
