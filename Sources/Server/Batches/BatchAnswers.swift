import CalotypeCore
import Foundation
import Hummingbird
import Logging
import NIOCore

extension CalotypeServer {
    /// How an endpoint that posts a batch answers the request that posted it.
    enum BatchAnswer {
        /// `/process-batch-stream`, `/process-batch-fast`: the batch's events
        /// as they happen; a client that goes away cancels the batch.
        case stream
        /// `/process-batch`: the summary with every item, once all have
        /// ended; a client that goes away cancels the batch.
        case collected
        /// `/process-and-save`: the same, each result also saved to the
        /// save target of whoever made it; it runs to its end whoever waits.
        case saved
    }

    /// Reads the request's batch, posts it to the batch host and answers
    /// as `answer` says, whichever host runs it.
    func answerBatch(
        _ request: Request,
        context: CalotypeRequestContext,
        endpoint: String,
        answer: BatchAnswer,
        parallelism: Int
    ) async throws -> Response {
        let upload = try await readUpload(request, shape: answer == .saved ? .singleOrBatch : .batch)
        let owner = context.identity ?? .open
        let created = try await post(
            upload,
            owner: owner,
            endpoint: endpoint,
            lifetime: .request,
            parallelism: parallelism,
            destination: answer == .saved ? BatchSubmission.saveTargetDestination : upload.destinationName
        )
        let batch = created.batchID
        switch answer {
        case .stream:
            // Until the answer's body starts, a client that leaves cancels
            // the batch from here: the body never runs when its head
            // cannot be written. The one task here not a child of the
            // request's: it spans the route's return and the body's start,
            // which Hummingbird runs apart.
            let (host, departures, channel, logger) = (batchHost, departures, context.channel, context.logger)
            let beforeTheBody = Task {
                await departures.departure(of: channel)
                guard !Task.isCancelled else { return }
                await Self.cancel(batch, for: owner, on: host, logger: logger)
                await host.answered(batch)
            }
            return streamed(batch, for: owner, context: context, disarming: beforeTheBody)
        case .collected:
            let status: APIBatchStatus
            do {
                status = try await departures.cancellingOnDeparture(of: context.channel) {
                    try await self.waitForEnd(of: batch, for: owner)
                }
            } catch {
                // The client went away: the items not ended are cancelled.
                await Self.cancel(batch, for: owner, on: batchHost, logger: context.logger)
                await batchHost.answered(batch)
                throw error
            }
            await batchHost.answered(batch)
            return try Self.json(await summary(status, inline: upload.inline, for: owner), for: request, context: context)
        case .saved:
            // Saving runs to its end even if the client leaves: it is a side effect asked for.
            let status: APIBatchStatus
            do {
                status = try await waitForEnd(of: batch, for: owner)
            } catch {
                await batchHost.answered(batch)
                throw error
            }
            await batchHost.answered(batch)
            let saveFailed = status.results.contains { $0.error?.code == .saveFailed }
            return try Self.json(
                await summary(status, inline: false, for: owner),
                status: saveFailed ? .badGateway : .ok,
                for: request,
                context: context
            )
        }
    }

    /// Hands the upload's batch to the host, which may refuse it (no room).
    func post(
        _ upload: Upload,
        owner: Tenant,
        endpoint: String,
        lifetime: BatchSubmission.Lifetime,
        parallelism: Int,
        destination: String?
    ) async throws(APIError) -> APIBatchCreated {
        let submission = BatchSubmission(
            destination: destination,
            lifetime: lifetime,
            owner: owner,
            upload: upload,
            endpoint: endpoint,
            parallelism: parallelism
        )
        return try await batchHost.post(submission)
    }

    /// The batch as `text/event-stream`: `progress` (queued, started, done),
    /// one `result` or `error` per item, and `complete` last, each flushed
    /// as it happens; a comment keeps an idle stream open. A client that
    /// goes away (its connection closes, or a write fails) cancels the
    /// items not yet ended, running ones included.
    private func streamed(_ batch: String, for owner: Tenant, context: CalotypeRequestContext, disarming beforeTheBody: Task<Void, Never>) -> Response
    {
        let (host, departures, keepAlive) = (batchHost, departures, configuration.keepAliveInterval)
        let (channel, logger) = (context.channel, context.logger)
        return Response(
            status: .ok,
            headers: Self.eventStreamHeaders,
            body: ResponseBody { writer in
                // The body watches the client from here on.
                beforeTheBody.cancel()
                let subscription: BatchEventStream
                do {
                    subscription = try await host.events(of: batch, after: 0, for: owner)
                } catch {
                    await host.answered(batch)
                    throw error
                }
                guard case .events(let events, let keepAliveThisStream) = subscription else {
                    await host.answered(batch)
                    try await writer.finish(nil)
                    return
                }
                let complete = await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // Cancelled with the group when the stream ends; told first when the client leaves.
                        await departures.departure(of: channel)
                        if !Task.isCancelled { await Self.cancel(batch, for: owner, on: host, logger: logger) }
                    }
                    defer { group.cancelAll() }
                    do {
                        return try await Self.relay(events, to: &writer, keepAlive: keepAlive, keepAliveThisStream: keepAliveThisStream)
                    } catch {
                        // The client is gone.
                        return false
                    }
                }
                guard complete else {
                    await Self.cancel(batch, for: owner, on: host, logger: logger)
                    await host.answered(batch)
                    return
                }
                await host.answered(batch)
                try await writer.finish(nil)
            }
        )
    }

    /// Writes each event as it comes, with a keep-alive comment every
    /// `keepAlive`; whether the batch's `complete` was written.
    static func relay(
        _ events: AsyncStream<String>,
        to writer: inout any ResponseBodyWriter,
        keepAlive: Duration,
        keepAliveThisStream: @escaping @Sendable () -> Void
    ) async throws -> Bool {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: keepAlive)
                    keepAliveThisStream()
                }
            }
            defer { group.cancelAll() }
            var complete = false
            for await chunk in events {
                try await writer.write(ByteBuffer(string: chunk))
                if chunk.contains("\nevent: complete\n") { complete = true }
            }
            return complete
        }
    }

    /// A client that posted a batch left before its answer: the items not
    /// ended are cancelled, as they would run for nobody otherwise.
    static func cancel(_ batch: String, for owner: Tenant, on host: any BatchHost, logger: Logger) async {
        do {
            _ = try await host.cancel(batch, for: owner)
        } catch {
            logger.warning("cancelling a batch whose client left failed", metadata: ["batch": "\(batch)", "error": "\(error)"])
        }
    }

    /// Follows the batch's events to its `complete` (from another node if
    /// this one's stream ends first), then reads its status.
    private func waitForEnd(of batch: String, for owner: Tenant) async throws(APIError) -> APIBatchStatus {
        var lastEventID = 0
        while true {
            switch try await batchHost.events(of: batch, after: lastEventID, for: owner) {
            case .finished:
                return try await batchHost.status(of: batch, for: owner)
            case .unknownEvent(let latest):
                lastEventID = latest
            case .events(let events, _):
                for await chunk in events {
                    if let id = chunk.firstMatch(of: /^id: ([0-9]+)\n/).flatMap({ Int($0.output.1) }) { lastEventID = id }
                    if chunk.contains("\nevent: complete\n") { return try await batchHost.status(of: batch, for: owner) }
                }
                if Task.isCancelled { throw APIError(.serviceUnavailable, .cancelled, "the request was cancelled") }
            }
        }
    }

    /// The answer of `/process-batch`, from a batch's final status; with
    /// `inline`, each result's bytes that its item does not carry yet are
    /// read from the result store.
    private func summary(_ status: APIBatchStatus, inline: Bool, for owner: Tenant) async -> APIBatchSummary {
        var items = status.results
        if inline {
            for index in items.indices where items[index].data == nil {
                guard let id = items[index].resultID, let stored = await results.get(id, for: owner) else { continue }
                items[index].data = Data(stored.bytes).base64EncodedString()
            }
        }
        return APIBatchSummary(
            batchID: status.batchID,
            total: status.total,
            succeeded: status.succeeded,
            failed: status.failed,
            cancelled: status.cancelled,
            durationMs: status.durationMs ?? 0,
            results: items
        )
    }

    static let eventStreamHeaders: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
}
