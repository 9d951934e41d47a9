import Foundation
import Hummingbird
import Scheduler

extension CalotypeServer {
    /// `GET /metrics`: the Prometheus text exposition format (version 0.0.4);
    /// `GET /openapi.json`: the API's description; `GET /`: the console,
    /// with its style and script.
    func addInfoRoutes(to router: Router<CalotypeRequestContext>) {
        router.get("/") { _, _ -> Response in
            var page = Self.asset(Assets.consolePage, type: "text/html; charset=utf-8")
            page.headers[.contentSecurityPolicy] = Self.consolePolicy
            page.headers[.xFrameOptions] = "DENY"
            return page
        }
        router.get("console.css") { _, _ -> Response in
            Self.asset(Assets.consoleStyle, type: "text/css; charset=utf-8")
        }
        router.get("console.js") { _, _ -> Response in
            Self.asset(Assets.consoleScript, type: "text/javascript; charset=utf-8")
        }
        router.get("openapi.json") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json(maxOperations: configuration.maxOperations)))
            )
        }
        router.requiring(.metrics, access).get("metrics") { _, _ -> Response in
            telemetry.sample(await scheduler.statistics(), memoryBudget: scheduler.memoryBudget)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: telemetry.render()))
            )
        }
    }

    /// One of the console's files: built into the binary, so cached by the
    /// browser only for a minute (a new version is seen soon after), and
    /// never read as another type than it says.
    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "public, max-age=60", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// The console's page runs its own script and style only (no inline
    /// script, nothing from elsewhere), shows images of this server and of
    /// the files chosen (`blob:`), and is framed by no page (clickjacking).
    static let consolePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}
