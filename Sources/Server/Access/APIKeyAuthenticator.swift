import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// Reads the request's `Authorization: Bearer <key>` and makes its tenant
/// the request's identity. A key this server does not know is 401 whatever
/// the route; a missing one is 401 where a key is `required` and passes
/// elsewhere (`GET /img`, whose signed URLs need none). A tenant past its
/// `rate` is 429. On an open server (no keys file) every request is
/// `Tenant.open`'s.
struct APIKeyAuthenticator: AuthenticatorMiddleware {
    typealias Context = CalotypeRequestContext

    let access: AccessControl
    let required: Bool

    func authenticate(request: Request, context: Context) async throws -> Tenant? {
        guard let keys = access.keys else { return .open }
        guard let presented = request.headers.bearer else {
            if required { throw AccessRefusal.missingKey }
            return nil
        }
        guard let tenant = keys.tenant(forKey: presented.token) else {
            access.metrics.count("unknown", .unauthorized)
            throw AccessRefusal.unknownKey
        }
        if let wait = access.rates.take(for: tenant) {
            access.metrics.count(tenant.name, .rateLimited)
            throw AccessRefusal.rateLimited(tenant, retryAfter: wait)
        }
        return tenant
    }
}

/// Why a request may not go on: each is an answer with its JSON body.
enum AccessRefusal {
    /// 401, with the `WWW-Authenticate` challenge RFC 6750 defines.
    static var missingKey: APIError {
        var error = APIError(.unauthorized, .unauthorized, "this endpoint needs an API key: send `Authorization: Bearer <key>`")
        error.headers[.wwwAuthenticate] = #"Bearer realm="calotype""#
        return error
    }

    static var unknownKey: APIError {
        var error = APIError(.unauthorized, .unauthorized, "the API key is not one this server accepts")
        error.headers[.wwwAuthenticate] = #"Bearer realm="calotype", error="invalid_token""#
        return error
    }

    /// 429, with the whole seconds until the tenant's next token.
    static func rateLimited(_ tenant: Tenant, retryAfter wait: Duration) -> APIError {
        let seconds = max(1, Int(wait.seconds.rounded(.up)))
        var error = APIError(
            .tooManyRequests,
            .rateLimited,
            "'\(tenant.name)' may make \(tenant.rate.map { String(format: "%g", $0) } ?? "?") requests a second; retry in \(seconds) s"
        )
        error.headers[.retryAfter] = String(seconds)
        return error
    }

    /// 403: a known key without the endpoint's scope.
    static func lacking(_ scope: APIScope) -> APIError {
        var error = APIError(.forbidden, .forbidden, "this endpoint needs a key with the scope '\(scope.rawValue)'")
        error.headers[.wwwAuthenticate] = #"Bearer realm="calotype", error="insufficient_scope", scope="\#(scope.rawValue)""#
        return error
    }
}

/// Counts the request as admitted or forbidden for its tenant, once the
/// scope has been checked (keys on; an open server counts nothing here).
struct TenantCountingPolicy: AuthorizationPolicy {
    let scope: APIScope
    let metrics: TenantMetrics

    func isAuthorized(identity: Tenant, request: Request) async throws -> Bool {
        let allowed = try await PermissionPolicy<Tenant>(scope).isAuthorized(identity: identity, request: request)
        if identity != .open { metrics.count(identity.name, allowed ? .admitted : .forbidden) }
        return allowed
    }
}

extension RouterMethods where Context == CalotypeRequestContext {
    /// A group of routes that only a key with `scope` (or `admin`) may use.
    func requiring(_ scope: APIScope, _ access: AccessControl) -> RouterGroup<Context> {
        group()
            .add(middleware: APIKeyAuthenticator(access: access, required: true))
            .add(
                middleware: AuthorizationPolicyMiddleware(
                    TenantCountingPolicy(scope: scope, metrics: access.metrics),
                    deniedError: AccessRefusal.lacking(scope)
                )
            )
    }
}
