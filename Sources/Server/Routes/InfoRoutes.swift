import Foundation
import Hummingbird
import Scheduler

extension CalotypeServer {
    /// `GET /metrics`: the Prometheus text exposition format (version 0.0.4);
    /// `GET /openapi.json`: the API's description; `GET /`: the web page.
    func addInfoRoutes(to router: Router<CalotypeRequestContext>) {
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json(maxOperations: configuration.maxOperations))))
        }
        router.get("metrics") { _, _ -> Response in
            telemetry.sample(await scheduler.statistics(), memoryBudget: scheduler.memoryBudget)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: telemetry.render())))
        }
    }
}
