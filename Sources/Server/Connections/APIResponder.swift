import Hummingbird
import Logging
import NIOHTTP1

/// The router's responder, with every answer the router does not write
/// itself made a JSON error like the rest of the API: 404 for a path no
/// route has, 405 with `Allow` for any method the path does not take,
/// `PROPFIND` and `QUERY` too (the router alone answers both 404 with an
/// empty body; API checkers such as schemathesis expect 405 for every
/// undeclared method on a path; a method the parser cannot read at all is
/// answered 501 by `HTTP1ConformanceHandler`), and 500
/// `internal` for an error no route turned into an answer. Every request,
/// whatever its answer, gets its `X-Request-ID` here (the outermost
/// responder) and carries it in its logger's metadata.
struct APIResponder<Router: HTTPResponder>: HTTPResponder where Router.Context == CalotypeRequestContext {
    typealias Context = CalotypeRequestContext

    let router: Router
    let routes: RouteTable

    func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = RequestID.forRequest(carrying: request.headers[.requestID])
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        var response = try await answer(request, context: context)
        response.headers[.requestID] = requestID
        return response
    }

    private func answer(_ request: Request, context: Context) async throws -> Response {
        do {
            let response = try await router.respond(to: request, context: context)
            // The route table is read only when the router found no route
            // (its not-found responder names the endpoint so), not for
            // every request.
            guard context.endpointPath == Self.routerNotFound else { return response }
            let methods = routes.methods(for: request.uri.path)
            throw methods.isEmpty
                ? APIError(.notFound, .notFound, "no endpoint at \(request.uri.path); GET /openapi.json lists them")
                : Self.methodNotAllowed(request, allowed: methods)
        } catch let error as HTTPParserError {
            throw error  // A body that breaks HTTP mid-way: Hummingbird closes the connection.
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error on \(request.method) \(request.uri.path): \(error)")
            return try APIError(.internalServerError, .internal, "the server failed to answer; the error is logged")
                .response(from: request, context: context)
        }
    }

    /// The endpoint Hummingbird's router records when no route matched the
    /// path and method (`NotFoundResponder`).
    static var routerNotFound: String { "NotFound" }

    private static func methodNotAllowed(_ request: Request, allowed: Set<HTTPRequest.Method>) -> APIError {
        let names = allowed.map(\.rawValue).sorted()
        var error = APIError(
            .methodNotAllowed,
            .methodNotAllowed,
            "\(request.uri.path) takes \(names.joined(separator: ", ")), not \(request.method.rawValue)"
        )
        error.headers[.allow] = names.joined(separator: ", ")
        return error
    }
}
