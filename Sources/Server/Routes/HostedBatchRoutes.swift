import CalotypeCore
import Foundation
import Hummingbird
import NIOCore

extension CalotypeServer {
    /// How a batch endpoint answers when its items run elsewhere (a
    /// cluster's queue): as it answers when they run here.
    enum HostedAnswer {
        /// `/process-batch-stream`, `/process-batch-fast`: the batch's events
        /// as they are logged; a client that goes away cancels the batch.
        case stream
        /// `/process-batch`: the summary with every item, once all have
        /// ended; a client that goes away cancels the batch.
        case collected
        /// `/process-and-save`: the same, each result also saved by the node
        /// that made it to its save target; it runs to its end whoever waits.
        case saved
    }

    /// The destination that tells a node to save a result to its own save
    /// target (`CALOTYPE_SAVE_DIR`, `CALOTYPE_SAVE_URL`) rather than to an
    /// allow-listed destination (no destination a client names has this form).
    static let saveTargetDestination = "@save-target"

    /// Posts the request's batch to the host and answers as `answer` says.
    func hostedBatch(_ request: Request, context: CalotypeRequestContext, endpoint: String, host: any BatchHost, answer: HostedAnswer) async throws -> Response {
        await statistics.request(endpoint)
        let upload = try await readUpload(request, shape: answer == .saved ? .singleOrBatch : .batch, endpoint: endpoint)
        let created = try await post(
            upload, to: host, destination: answer == .saved ? Self.saveTargetDestination : upload.destinationName, endpoint: endpoint)
        switch answer {
        case .stream:
            return hostedStream(created.batchID, host: host)
        case .collected:
            let status: APIBatchStatus
            do {
                status = try await departures.cancellingOnDeparture(of: context.channel) {
                    try await self.waitForEnd(of: created.batchID, host: host)
                }
            } catch {
                // The client went away: as on one node, the items not ended are cancelled.
                _ = try? await host.cancel(created.batchID)
                throw error
            }
            return Self.json(await summary(status, inline: upload.inline))
        case .saved:
            let status = try await waitForEnd(of: created.batchID, host: host)
            let saveFailed = status.results.contains { $0.error?.code == .saveFailed }
            return Self.json(await summary(status, inline: false), status: saveFailed ? .badGateway : .ok)
        }
    }

    /// Hands the upload's batch to the host; a refusal counts against `endpoint`.
    func post(_ upload: Upload, to host: any BatchHost, destination: String?, endpoint: String) async throws(APIError) -> APIBatchCreated {
        let submission = BatchSubmission(
            items: upload.items, recipe: upload.recipe, placement: upload.placement, strictPlacement: upload.strictPlacement,
            destination: destination)
        do {
            return try await host.post(submission)
        } catch {
            await statistics.rejected(endpoint)
            throw error
        }
    }

    /// The batch's events, relayed as they are logged, until `complete`.
    /// A client that goes away is noticed at the next write (an event or
    /// the keep-alive comment), and its batch's items not ended are then
    /// cancelled, as on one node.
    private func hostedStream(_ batch: String, host: any BatchHost) -> Response {
        let keepAlive = configuration.keepAliveInterval
        return Response(status: .ok, headers: Self.eventStreamHeaders, body: ResponseBody { writer in
            guard case .events(let events, let keepAliveThisStream) = try await host.events(of: batch, after: 0) else {
                try await writer.finish(nil)
                return
            }
            var complete = false
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        guard (try? await Task.sleep(for: keepAlive)) != nil else { return }
                        keepAliveThisStream()
                    }
                }
                do {
                    for await chunk in events {
                        try await writer.write(ByteBuffer(string: chunk))
                        if chunk.contains("\nevent: complete\n") { complete = true }
                    }
                } catch {
                    // The client is gone.
                }
                group.cancelAll()
            }
            guard complete else {
                _ = try? await host.cancel(batch)
                return
            }
            try await writer.finish(nil)
        })
    }

    /// Follows the batch's events to its `complete` (from another node if
    /// this one's stream ends first), then reads its status.
    private func waitForEnd(of batch: String, host: any BatchHost) async throws(APIError) -> APIBatchStatus {
        var lastEventID = 0
        while true {
            switch try await host.events(of: batch, after: lastEventID) {
            case .finished:
                return try await host.status(of: batch)
            case .unknownEvent(let latest):
                lastEventID = latest
            case .events(let events, _):
                for await chunk in events {
                    if let id = chunk.firstMatch(of: /^id: ([0-9]+)\n/).flatMap({ Int($0.output.1) }) { lastEventID = id }
                    if chunk.contains("\nevent: complete\n") { return try await host.status(of: batch) }
                }
                if Task.isCancelled { throw APIError(.serviceUnavailable, .cancelled, "the request was cancelled") }
            }
        }
    }

    /// The answer of `/process-batch`, from a batch's final status.
    private func summary(_ status: APIBatchStatus, inline: Bool) async -> APIBatchSummary {
        var items = status.results
        if inline {
            for index in items.indices {
                guard let id = items[index].resultID, let stored = await results.get(id) else { continue }
                items[index].data = Data(stored.bytes).base64EncodedString()
            }
        }
        return APIBatchSummary(
            batchID: status.batchID, total: status.total, succeeded: status.succeeded, failed: status.failed, cancelled: status.cancelled,
            durationMs: status.durationMs ?? 0, results: items)
    }
}
