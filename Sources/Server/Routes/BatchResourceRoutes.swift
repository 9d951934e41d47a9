import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!
}

extension CalotypeServer {
    /// Batches as resources: post one, then read its status, follow its
    /// events over `GET` (so a browser's `EventSource` works and resumes after
    /// a reconnect), or cancel it. The batch runs whether anyone listens or not.
    func addBatchResourceRoutes(to router: Router<CalotypeRequestContext>) {
        router.post("batches") { request, _ -> Response in
            let endpoint = "/batches"
            await statistics.request(endpoint)
            let upload = try await readUpload(request, shape: .batch, endpoint: endpoint)
            guard !upload.inline else {
                // Its events are kept for replay: base64 copies of every result would pile up there.
                await statistics.rejected(endpoint)
                throw APIError(.badRequest, .inlineUnavailable, "inline=true is not available on /batches: each result is at its url")
            }
            if let host = configuration.batchHost {
                let created = try await post(upload, to: host, destination: upload.destinationName, endpoint: endpoint)
                var response = Self.json(created, status: .accepted)
                response.headers[.location] = created.statusURL
                return response
            }
            var run = BatchRun(upload: upload, scheduler: scheduler, results: results, statistics: statistics, endpoint: endpoint)
            run.observer = configuration.batchObserver
            let batch = HostedBatch(id: run.id, total: upload.items.count)
            do {
                try await batches.admit(batch)
            } catch {
                await statistics.rejected(endpoint)
                throw error
            }
            batch.start(run, parallelism: configuration.parallelEnabled ? parallelism : 1)
            let paths = BatchPaths(id: batch.id)
            var response = Self.json(
                APIBatchCreated(batchID: batch.id, status: .running, total: batch.total, eventsURL: paths.events, statusURL: paths.status),
                status: .accepted)
            response.headers[.location] = paths.status
            return response
        }

        router.get("batches/{id}") { _, context -> Response in
            if let host = configuration.batchHost {
                return Self.json(try await host.status(of: context.parameters.get("id") ?? ""))
            }
            let batch = try await hostedBatch(context)
            return Self.json(batch.snapshot(paths: BatchPaths(id: batch.id)))
        }

        router.get("batches/{id}/events") { request, context -> Response in
            let lastEventID = try Self.lastEventID(request)
            let subscription: BatchEventStream
            if let host = configuration.batchHost {
                subscription = try await host.events(of: context.parameters.get("id") ?? "", after: lastEventID)
            } else {
                subscription = try await hostedBatch(context).subscribe(after: lastEventID)
            }
            let events: AsyncStream<String>
            let keepAliveThisStream: @Sendable () -> Void
            switch subscription {
            case .events(let stream, let keepAlive):
                (events, keepAliveThisStream) = (stream, keepAlive)
            case .finished:
                // 204 tells an EventSource that reconnects after `complete` to stop.
                return Response(status: .noContent)
            case .unknownEvent(let latest):
                // Not malformed, but ahead of the batch: reading on would skip events.
                throw APIError(.conflict, .invalidLastEventID, "event \(lastEventID) was not sent by this batch; its latest is \(latest)")
            }
            let keepAlive = configuration.keepAliveInterval
            return Response(status: .ok, headers: Self.eventStreamHeaders, body: ResponseBody { writer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: keepAlive)
                            keepAliveThisStream()
                        }
                    }
                    // How soon a browser reconnects after the connection drops.
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    for await chunk in events {
                        try await writer.write(ByteBuffer(string: chunk))
                    }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            })
        }

        router.delete("batches/{id}") { _, context -> Response in
            if let host = configuration.batchHost {
                return Self.json(try await host.cancel(context.parameters.get("id") ?? ""))
            }
            let batch = try await hostedBatch(context)
            await batch.cancel()
            // Deleted as the method says: the answer is the batch's last state.
            await batches.remove(batch.id)
            return Self.json(batch.snapshot(paths: BatchPaths(id: batch.id)))
        }
    }

    private func hostedBatch(_ context: CalotypeRequestContext) async throws(APIError) -> HostedBatch {
        let id = context.parameters.get("id") ?? ""
        guard let batch = await batches.batch(id) else {
            throw APIError(.notFound, .notFound, "no batch '\(id)' (finished batches are kept for \(Int(configuration.resultLifetime.seconds)) s)")
        }
        return batch
    }

    /// The last event the client has seen: the `Last-Event-ID` header an
    /// `EventSource` sends when it reconnects, or `?last_event_id=` for clients
    /// that cannot set headers; 0 (from the start) when neither is given.
    private static func lastEventID(_ request: Request) throws(APIError) -> Int {
        let header = request.headers[.lastEventID]
        guard let text = header ?? request.uri.queryParameters.get("last_event_id") else { return 0 }
        guard let id = Int(text), id >= 0 else {
            throw APIError(.badRequest, .invalidLastEventID, "Last-Event-ID must be an event id this server sent (a number), got '\(text)'")
        }
        return id
    }
}
