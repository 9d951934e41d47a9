import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Scheduler

extension CalotypeServer {
    func addBatchRoutes(to router: Router<CalotypeRequestContext>) {
        router.post("process-batch") { request, context -> Response in
            if let host = configuration.batchHost {
                return try await hostedBatch(request, context: context, endpoint: "/process-batch", host: host, answer: .collected)
            }
            let run = try await batchRun(request, endpoint: "/process-batch")
            // A client that goes away cancels the items not yet finished.
            let summary = try await departures.cancellingOnDeparture(of: context.channel) { await run.collected(parallelism: 1) }
            return Self.json(summary)
        }

        router.post("process-batch-stream") { request, context -> Response in
            if let host = configuration.batchHost {
                return try await hostedBatch(request, context: context, endpoint: "/process-batch-stream", host: host, answer: .stream)
            }
            let run = try await batchRun(request, endpoint: "/process-batch-stream")
            return streamed(run, parallelism: 1, channel: context.channel)
        }

        router.post("process-batch-fast") { request, context -> Response in
            guard configuration.parallelEnabled else {
                await statistics.rejected("/process-batch-fast")
                throw APIError(.forbidden, .parallelDisabled, "parallel processing is disabled on this server (ENABLE_PARALLEL=false); use /process-batch-stream")
            }
            if let host = configuration.batchHost {
                return try await hostedBatch(request, context: context, endpoint: "/process-batch-fast", host: host, answer: .stream)
            }
            let run = try await batchRun(request, endpoint: "/process-batch-fast")
            return streamed(run, parallelism: parallelism, channel: context.channel)
        }

        router.post("process-and-save") { request, context -> Response in
            let endpoint = "/process-and-save"
            if let host = configuration.batchHost {
                return try await hostedBatch(request, context: context, endpoint: endpoint, host: host, answer: .saved)
            }
            await statistics.request(endpoint)
            let upload = try await readUpload(request, shape: .singleOrBatch, endpoint: endpoint)
            var run = BatchRun(upload: upload, scheduler: scheduler, results: results, statistics: statistics, endpoint: endpoint, saver: saveTarget)
            run.observer = configuration.batchObserver
            // Saving runs to its end even if the client leaves: it is a side effect asked for.
            let summary = await run.collected(parallelism: parallelism)
            let items = summary.results ?? []
            let saveFailed = items.contains { $0.error?.code == .saveFailed }
            return Self.json(summary, status: saveFailed ? .badGateway : .ok)
        }
    }

    /// Where `/process-and-save` saves: `CALOTYPE_SAVE_URL` (S3 or HTTP),
    /// or the folder `CALOTYPE_SAVE_DIR`.
    var saveTarget: any ResultSink {
        configuration.saveSink ?? configuration.saveURL.map { HTTPResultSink(url: $0) }
            ?? ResultSaver(directory: configuration.saveDirectory, io: BlockingPools.files)
    }

    private func batchRun(_ request: Request, endpoint: String) async throws(APIError) -> BatchRun {
        await statistics.request(endpoint)
        let upload = try await readUpload(request, shape: .batch, endpoint: endpoint)
        var run = BatchRun(upload: upload, scheduler: scheduler, results: results, statistics: statistics, endpoint: endpoint)
        run.observer = configuration.batchObserver
        return run
    }

    /// The batch as `text/event-stream`: `progress` (queued, started, done),
    /// one `result` or `error` per item, and `complete` last. Each event is
    /// flushed as it happens; a comment keeps idle streams open. If the client
    /// goes away (its connection closes), the items not yet finished are
    /// cancelled at once, running ones included.
    private func streamed(_ run: BatchRun, parallelism: Int, channel connection: any Channel) -> Response {
        let departures = self.departures
        let keepAlive = configuration.keepAliveInterval
        return Response(status: .ok, headers: Self.eventStreamHeaders, body: ResponseBody { writer in
            let channel = EventChannel()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await departures.cancellingOnDeparture(of: connection) {
                        await run.runEmittingEvents(parallelism: parallelism) { channel.send($0) }
                    }
                    channel.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: keepAlive)
                        channel.comment("keep-alive")
                    }
                }
                for await chunk in channel.stream {
                    try await writer.write(ByteBuffer(string: chunk))
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        })
    }

    static let eventStreamHeaders: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
}
