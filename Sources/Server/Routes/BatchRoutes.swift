import CalotypeCore
import Hummingbird

extension CalotypeServer {
    /// The endpoints that answer a batch in the request that posted it;
    /// `BatchAnswers.swift` shapes each answer from the batch host's events
    /// and status, whichever host runs the batch.
    func addBatchRoutes(to router: Router<CalotypeRequestContext>) {
        let router = router.group()
            .add(middleware: EndpointStatisticsMiddleware(statistics: statistics, answer: .batch))
            .requiring(.batches, access)
        router.post("process-batch") { request, context -> Response in
            try await answerBatch(request, context: context, endpoint: "/process-batch", answer: .collected, parallelism: 1)
        }

        router.post("process-batch-stream") { request, context -> Response in
            try await answerBatch(request, context: context, endpoint: "/process-batch-stream", answer: .stream, parallelism: 1)
        }

        router.post("process-batch-fast") { request, context -> Response in
            guard configuration.parallelEnabled else {
                throw APIError(
                    .forbidden,
                    .parallelDisabled,
                    "parallel processing is disabled on this server (ENABLE_PARALLEL=false); use /process-batch-stream"
                )
            }
            return try await answerBatch(request, context: context, endpoint: "/process-batch-fast", answer: .stream, parallelism: parallelism)
        }

        router.post("process-and-save") { request, context -> Response in
            try await answerBatch(request, context: context, endpoint: "/process-and-save", answer: .saved, parallelism: parallelism)
        }
    }

    /// Where `/process-and-save` saves: the configured sink
    /// (`CALOTYPE_SAVE_URL`: S3 or HTTP), or the folder `CALOTYPE_SAVE_DIR`.
    var saveTarget: any ResultSink {
        Self.saveTarget(configuration)
    }

    static func saveTarget(_ configuration: ServerConfiguration) -> any ResultSink {
        configuration.saveSink ?? ResultSaver(directory: configuration.saveDirectory, io: BlockingPools.files)
    }
}
