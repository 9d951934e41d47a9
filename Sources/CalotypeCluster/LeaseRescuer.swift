import CalotypeCore
import Foundation
import Logging
import PostgresNIO

/// Every node runs one; the database lets one of them at a time take back
/// the items whose lease ended (their node died or stalled): queued again,
/// or `dead` after their last attempt, each dead item's events written in
/// the same transaction, so that a batch's stream always ends.
public struct LeaseRescuer: Sendable {
    public let queue: WorkQueue
    /// How often to look (a fraction of the lease: a dead node's items wait
    /// at most the lease plus this).
    public let interval: Duration
    public let maxAttempts: Int
    let observer: @Sendable ([WorkQueue.Expired]) -> Void

    public init(
        queue: WorkQueue,
        interval: Duration,
        maxAttempts: Int,
        observer: @escaping @Sendable ([WorkQueue.Expired]) -> Void = { _ in }
    ) {
        self.queue = queue
        self.interval = interval
        self.maxAttempts = max(1, maxAttempts)
        self.observer = observer
    }

    /// One look: nil when another node holds the turn.
    public func rescueOnce() async throws -> [WorkQueue.Expired]? {
        let logger = queue.logger
        return try await queue.expireLeases(maxAttempts: maxAttempts) { connection, expired in
            for (batch, items) in Dictionary(grouping: expired.filter(\.dead), by: \.batchID) {
                let ends = items.sorted { $0.index < $1.index }.map { item in
                    ItemEnd(
                        state: .dead,
                        item: APIBatchItem(
                            batchID: batch.uuidString.lowercased(),
                            index: item.index,
                            filename: item.name,
                            status: .error,
                            error: APIErrorDetail(
                                code: .attemptsExhausted,
                                message: "no node finished this item in \(item.attempts) attempts (each stopped, stalled or died while it ran)"
                            )
                        )
                    )
                }
                try await BatchLedger.record(ends, of: batch, on: connection, logger: logger)
            }
        }
    }

    /// Looks every `interval` until cancelled; a failed look (the database
    /// away) is tried again at the next.
    public func run() async {
        while !Task.isCancelled {
            do {
                if let expired = try await rescueOnce() {
                    if !expired.isEmpty { observer(expired) }
                    // The turn's holder also writes the events of notes whose
                    // node stopped before its round.
                    try await BatchSequencer.sweep(client: queue.client, logger: queue.logger)
                }
            } catch {
                queue.logger.warning("rescuing expired leases failed; trying again", metadata: ["error": "\(String(reflecting: error))"])
            }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }
}
