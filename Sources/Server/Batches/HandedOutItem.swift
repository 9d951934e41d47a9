import CalotypeCore
import Foundation
import Scheduler

extension CalotypeServer {
    /// Runs one item of a batch that is not this process's (a cluster node's
    /// claim) exactly as `/batches` runs each of its own: through the
    /// scheduler, its source fetched when a worker is free, its result
    /// stored in the result store under the batch's deterministic name (a
    /// retried item writes the same key) and written to its destination.
    ///
    /// - Parameters:
    ///   - fetcher: who fetches `source` inputs: the composition root's,
    ///     which also reads the uploads a cluster staged.
    ///   - resultToken: the batch's, stored with it, so that every node
    ///     names its results alike.
    ///   - tenant: the batch's owner, whose turns and cap its job takes.
    public func runHandedOutItem(
        _ input: BatchInput,
        index: Int,
        batchID: String,
        resultToken: String,
        tenant: JobTenant,
        recipe: Recipe,
        placement: Placement,
        strictPlacement: Bool,
        destination: String?,
        fetcher: (any SourceFetcher)?
    ) async -> APIBatchItem {
        var upload = Upload(items: [input], recipe: recipe, placement: placement, strictPlacement: strictPlacement, inline: false)
        upload.fetcher = fetcher
        upload.maxSourceBytes = configuration.maxImageBytes ?? ImageLimits().maxBytes
        if destination == BatchSubmission.saveTargetDestination {
            upload.destination = saveTarget
        } else if let destination {
            do throws(DestinationRefusal) {
                guard let destinations = configuration.destinations else {
                    throw DestinationRefusal("this node writes to no destination (CALOTYPE_ALLOWED_DESTINATIONS is empty)")
                }
                upload.destination = try destinations.sink(for: destination)
                upload.destinationName = destination
            } catch {
                return APIBatchItem(
                    batchID: batchID,
                    index: index,
                    filename: input.name,
                    status: .error,
                    error: APIErrorDetail(code: .destinationNotAllowed, message: error.description)
                )
            }
        }
        var run = BatchRun(
            upload: upload,
            scheduler: scheduler,
            results: results,
            statistics: statistics,
            endpoint: "/batches",
            id: batchID,
            resultToken: resultToken
        )
        run.tenant = tenant
        run.firstIndex = index
        run.durableResults = true
        let summary = await run.collected(parallelism: 1)
        return summary.results?.first
            ?? APIBatchItem(
                batchID: batchID,
                index: index,
                filename: input.name,
                status: .error,
                error: APIErrorDetail(code: .cancelled, message: "the item was stopped before it ran")
            )
    }
}
