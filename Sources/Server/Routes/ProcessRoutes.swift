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
        router.post("process") { request, context -> Response in
            let endpoint = "/process"
            await statistics.request(endpoint)
            let upload = try await readUpload(request, shape: .single(allowRawBody: true), endpoint: endpoint)
            let job = JobRequest(
                input: upload.files[0],
                recipe: upload.recipe,
                placement: upload.placement,
                strictPlacement: upload.strictPlacement,
                priority: .interactive
            )
            let result: JobResult
            do {
                // A client that goes away stops its job: nobody would read the answer.
                result = try await departures.cancellingOnDeparture(of: context.channel) { [scheduler] in try await scheduler.submit(job) }
            } catch {
                let error = error as? SchedulerError ?? .cancelled
                if case .overloaded = error { await statistics.rejected(endpoint) }
                await statistics.record(endpoint, images: 1, failures: 1)
                throw APIError(error)
            }
            await statistics.record(endpoint, images: 1, failures: 0)
            return Self.imageResponse(result, budget: scheduler.memoryBudget)
        }

        router.get("results/{id}") { _, context -> Response in
            let id = context.parameters.get("id") ?? ""
            guard let stored = await results.get(id) else {
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

    /// Reads an upload, counting refusals against the endpoint.
    func readUpload(_ request: Request, shape: Upload.Shape, endpoint: String) async throws(APIError) -> Upload {
        do {
            return try await Upload.read(request, shape: shape, configuration: configuration, budget: scheduler.memoryBudget)
        } catch {
            await statistics.rejected(endpoint)
            throw error
        }
    }
}
