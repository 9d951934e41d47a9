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
        router.group()
            .add(middleware: EndpointStatisticsMiddleware(statistics: statistics, answer: .batch))
            .requiring(.batches, access)
            .post("batches") { request, context -> Response in
                let endpoint = "/batches"
                let upload = try await readUpload(request, shape: .batch)
                guard !upload.inline else {
                    // Its events are kept for replay: base64 copies of every result would pile up there.
                    throw APIError(.badRequest, .inlineUnavailable, "inline=true is not available on /batches: each result is at its url")
                }
                let created = try await post(
                    upload,
                    owner: context.identity ?? .open,
                    endpoint: endpoint,
                    lifetime: .resource,
                    parallelism: configuration.parallelEnabled ? parallelism : 1,
                    destination: upload.destinationName
                )
                var response = try Self.json(created, status: .accepted, for: request, context: context)
                response.headers[.location] = created.statusURL
                return response
            }

        let router = router.requiring(.batches, access)
        router.get("batches/{id}") { request, context -> Response in
            try Self.json(
                try await batchHost.status(of: context.parameters.get("id") ?? "", for: context.identity ?? .open),
                for: request,
                context: context
            )
        }

        router.get("batches/{id}/events") { request, context -> Response in
            let lastEventID = try Self.lastEventID(request)
            let events: AsyncStream<String>
            let keepAliveThisStream: @Sendable () -> Void
            switch try await batchHost.events(of: context.parameters.get("id") ?? "", after: lastEventID, for: context.identity ?? .open) {
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
            return Response(
                status: .ok,
                headers: Self.eventStreamHeaders,
                body: ResponseBody { writer in
                    // How soon a browser reconnects after the connection drops.
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    // The batch runs on whether this reader stays or not.
                    _ = try await Self.relay(events, to: &writer, keepAlive: keepAlive, keepAliveThisStream: keepAliveThisStream)
                    try await writer.finish(nil)
                }
            )
        }

        router.delete("batches/{id}") { request, context -> Response in
            try Self.json(
                try await batchHost.cancel(context.parameters.get("id") ?? "", for: context.identity ?? .open),
                for: request,
                context: context
            )
        }
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
