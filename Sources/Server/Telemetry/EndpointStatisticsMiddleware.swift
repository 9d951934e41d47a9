import Hummingbird

/// Counts each request to a counted endpoint once, from the matched route
/// and its answer, so that no route counts for itself: one request, and
/// one of: a rejection (refused before any work), an image, or a failed
/// image (for the endpoints that answer one), or nothing more (a batch,
/// whose items its report counts; a client that left mid-job; a 304).
struct EndpointStatisticsMiddleware: RouterMiddleware {
    /// What the endpoint's answer is.
    enum Answer: Sendable {
        /// One image (`/process`, `/img`).
        case image
        /// A batch (its items are counted when it ends).
        case batch
    }

    let statistics: EndpointStatistics
    let answer: Answer

    func handle(
        _ request: Request,
        context: CalotypeRequestContext,
        next: (Request, CalotypeRequestContext) async throws -> Response
    ) async throws -> Response {
        // The route's own path, never the request's (which a client chooses:
        // one counter per path sent would grow without bound).
        let endpoint = Self.endpoint(context.endpointPath ?? "unmatched")
        statistics.count(.requests, endpoint)
        do {
            let response = try await next(request, context)
            if answer == .image && response.status.kind == .successful { statistics.count(.images, endpoint) }
            return response
        } catch let error as APIError {
            if error.imageFailed {
                if answer == .image {
                    statistics.count(.images, endpoint)
                    statistics.count(.failures, endpoint)
                }
            } else if error.code != .cancelled {
                statistics.count(.rejections, endpoint)
            }
            throw error
        }
    }

    /// The route as `/stats` and `/metrics` name it: `/img/**` is `/img`.
    static func endpoint(_ route: String) -> String {
        route.hasSuffix("/**") ? String(route.dropLast(3)) : route
    }
}
