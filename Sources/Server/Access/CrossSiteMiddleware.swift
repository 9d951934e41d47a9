import HTTPTypes
import Hummingbird

/// Requests a browser makes for another site's page, and names this server
/// answers to. A state-changing request (not `GET`, `HEAD` or `OPTIONS`)
/// is refused (403 `cross_site`) when the browser says it comes from
/// another site (`Sec-Fetch-Site: cross-site`) or its `Origin` is neither
/// this server's nor one of `CALOTYPE_CORS_ORIGINS`: a form on any page
/// could otherwise post a batch with its visitor's network position. Those
/// origins get CORS answers, preflights included. With
/// `CALOTYPE_ALLOWED_HOSTS`, a `Host` not listed is 421 `host_not_allowed`
/// (a DNS-rebinding page names its own host), except on `/health` and
/// `/ready`, which probes reach by address.
struct CrossSiteMiddleware: RouterMiddleware {
    typealias Context = CalotypeRequestContext

    let policy: CrossSitePolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let hosts = policy.allowedHosts, !["/health", "/ready"].contains(request.uri.path) {
            let host = request.head.authority ?? ""
            guard CrossSitePolicy.matches(host: host, in: hosts) else {
                throw APIError(
                    .misdirectedRequest,
                    .hostNotAllowed,
                    "this server does not answer for the host '\(host.prefix(255))' (CALOTYPE_ALLOWED_HOSTS)"
                )
            }
        }
        let origin = request.headers[.origin]
        let allowed = origin.map { policy.allowedOrigins.contains($0.lowercased()) } ?? false
        if request.method == .options, origin != nil, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else {
                throw Self.refusal("a preflight from the origin '\(origin?.prefix(255) ?? "")', which CALOTYPE_CORS_ORIGINS does not list")
            }
            return Response(status: .noContent, headers: corsHeaders(for: origin, preflight: true))
        }
        if ![.get, .head, .options].contains(request.method), !allowed {
            if request.headers[.secFetchSite]?.lowercased() == "cross-site" {
                throw Self.refusal("a \(request.method.rawValue) from another site's page (Sec-Fetch-Site: cross-site)")
            }
            if let origin, !CrossSitePolicy.isSameOrigin(origin, host: request.head.authority) {
                throw Self.refusal(
                    "a \(request.method.rawValue) from the origin '\(origin.prefix(255))', which is neither this server's nor in CALOTYPE_CORS_ORIGINS"
                )
            }
        }
        var response = try await next(request, context)
        if allowed {
            for field in corsHeaders(for: origin, preflight: false) { response.headers[field.name] = field.value }
        }
        return response
    }

    private static func refusal(_ what: String) -> APIError {
        APIError(.forbidden, .crossSite, "\(what) is refused: state-changing requests come from this server's pages or allowed origins")
    }

    private func corsHeaders(for origin: String?, preflight: Bool) -> HTTPFields {
        var headers: HTTPFields = [.vary: "Origin"]
        headers[.accessControlAllowOrigin] = origin
        if preflight {
            headers[.accessControlAllowMethods] = "GET, HEAD, POST, DELETE"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Last-Event-ID, X-Request-ID"
            headers[.accessControlMaxAge] = "600"
        } else {
            headers[.accessControlExposeHeaders] =
                "Location, Retry-After, X-Request-ID, X-Calotype-Backend, X-Calotype-Fallback, X-Calotype-Duration-Ms, X-Calotype-Width, X-Calotype-Height"
        }
        return headers
    }
}

/// Which origins may call the API from their pages, and which host names it
/// answers to.
public struct CrossSitePolicy: Sendable {
    /// Origins as browsers send them, lowercased: `https://app.example.com`.
    public var allowedOrigins: Set<String> = []
    /// Host names, with or without a port, lowercased; nil: every one.
    public var allowedHosts: Set<String>?

    public init(allowedOrigins: Set<String> = [], allowedHosts: Set<String>? = nil) {
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.allowedHosts = allowedHosts.map { Set($0.map { $0.lowercased() }) }
    }

    /// Whether `origin` (`scheme://host[:port]`) names the host the request
    /// was sent to. The scheme is not compared: behind a proxy that ends
    /// TLS the server cannot know it.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, let separator = origin.range(of: "://") else { return false }
        return origin[separator.upperBound...].lowercased() == host.lowercased()
    }

    /// Whether `host` (`name[:port]`) is listed, as itself or by its name alone.
    static func matches(host: String, in allowed: Set<String>) -> Bool {
        let host = host.lowercased()
        if allowed.contains(host) { return true }
        // The name without its port; an IPv6 literal keeps its brackets.
        guard let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") else { return false }
        return allowed.contains(String(host[..<colon]))
    }
}

extension HTTPField.Name {
    static let secFetchSite = Self("Sec-Fetch-Site")!
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
}
