import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import Scheduler

extension HTTPField.Name {
    static let calotypeBackend = Self("X-Calotype-Backend")!
    static let calotypeFallback = Self("X-Calotype-Fallback")!
    static let calotypeDuration = Self("X-Calotype-Duration-Ms")!
    static let calotypeWidth = Self("X-Calotype-Width")!
    static let calotypeHeight = Self("X-Calotype-Height")!
}

extension CalotypeServer {
    func addProcessRoutes(to router: Router<CalotypeRequestContext>) {
        // A client that goes away stops its job: nobody would read the answer.
        router.group()
            .add(middleware: EndpointStatisticsMiddleware(statistics: statistics, answer: .image))
            .requiring(.process, access)
            .add(middleware: CancelOnDepartureMiddleware(departures: departures))
            .post("process") { request, context -> Response in
                let upload = try await readUpload(request, shape: .single(allowRawBody: true))
                let job = JobRequest(
                    input: upload.files[0],
                    recipe: upload.recipe,
                    placement: upload.placement,
                    strictPlacement: upload.strictPlacement,
                    priority: .interactive,
                    tenant: (context.identity ?? .open).jobTenant
                )
                let result: JobResult
                do {
                    result = try await scheduler.submit(job)
                } catch {
                    throw APIError(error as? SchedulerError ?? .cancelled)
                }
                return Self.imageResponse(result, budget: scheduler.memoryBudget)
            }

        router.requiring(.batches, access).get("results/{id}") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let stored = await results.get(id, for: context.identity ?? .open) else {
                throw APIError(.notFound, .notFound, "no result '\(id)' (results are kept for \(Int(configuration.resultLifetime.seconds)) s)")
            }
            return Response(status: .ok, headers: [.contentType: stored.mediaType], body: .init(byteBuffer: ByteBuffer(bytes: stored.bytes)))
        }
    }

    /// A job's image as the answer: its media type, and where and how long
    /// it ran in `X-Calotype-*` headers, after `headers`. The encoded bytes
    /// count against `budget` until the answer is written and dropped (an
    /// unresized 50 MP PNG is over 100 MB, held while a slow client reads it).
    static func imageResponse(_ result: JobResult, headers: HTTPFields = [:], budget: MemoryBudget) -> Response {
        var headers = headers
        headers[.contentType] = result.image.format.mediaType
        headers[.calotypeBackend] = result.lane
        headers[.calotypeFallback] = result.fallback ? "true" : "false"
        headers[.calotypeDuration] = String(format: "%.1f", (result.queueWait + result.serviceTime).seconds * 1000)
        headers[.calotypeWidth] = String(result.image.width)
        headers[.calotypeHeight] = String(result.image.height)
        let buffer = ByteBuffer(bytes: result.image.bytes)
        let hold = budget.commit(buffer.readableBytes)
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(contentLength: buffer.readableBytes) { writer in
                try await writer.write(buffer)
                try await writer.finish(nil)
                hold.release()
            }
        )
    }

    /// Reads an upload within this server's limits and memory budget.
    func readUpload(_ request: Request, shape: Upload.Shape) async throws(APIError) -> Upload {
        try await Upload.read(request, shape: shape, configuration: configuration, budget: scheduler.memoryBudget)
    }
}
