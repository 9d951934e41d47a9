/// Every code an error of the HTTP API carries, in `{"error":{"code","message"}}`
/// bodies and in a batch item's `error`. The HTTP status of each is the
/// server's to decide; API_REFERENCE.md lists both, and a test keeps that
/// table and this list the same.
public enum APIErrorCode: String, Codable, Sendable, Hashable, CaseIterable {
    // The request
    case invalidRecipe = "invalid_recipe"
    case invalidBackend = "invalid_backend"
    case invalidLastEventID = "invalid_last_event_id"
    case inlineUnavailable = "inline_unavailable"
    case noFiles = "no_files"
    case tooManyFiles = "too_many_files"
    case malformedMultipart = "malformed_multipart"
    case notAFile = "not_a_file"
    case invalidOption = "invalid_option"
    case malformedRequest = "malformed_request"
    case parallelDisabled = "parallel_disabled"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case notImplemented = "not_implemented"
    case payloadTooLarge = "payload_too_large"
    case tooManyParts = "too_many_parts"
    case unsupportedMediaType = "unsupported_media_type"
    case invalidSignature = "invalid_signature"
    case invalidSource = "invalid_source"
    case invalidBatch = "invalid_batch"
    case destinationNotAllowed = "destination_not_allowed"
    // Who asks
    /// No API key, or one this server does not know (401).
    case unauthorized
    /// The key lacks the endpoint's scope, or the request came from
    /// another site (403).
    case forbidden
    /// The key's requests a second are spent (429, with `Retry-After`).
    case rateLimited = "rate_limited"
    /// A state-changing request from another site's page (403).
    case crossSite = "cross_site"
    /// A `Host` that `CALOTYPE_ALLOWED_HOSTS` does not list (421).
    case hostNotAllowed = "host_not_allowed"
    // The image
    case imageTooLarge = "image_too_large"
    case unsupportedFormat = "unsupported_format"
    case corruptImage = "corrupt_image"
    case invalidForImage = "invalid_for_image"
    case inputUnavailable = "input_unavailable"
    // An image by reference
    case sourceNotAllowed = "source_not_allowed"
    case sourceNotFound = "source_not_found"
    case sourceTimeout = "source_timeout"
    case sourceUnreachable = "source_unreachable"
    case sourceTooLarge = "source_too_large"
    // Where it ran
    case noUsableBackend = "no_usable_backend"
    case unsupportedByBackend = "unsupported_by_backend"
    case backendFault = "backend_fault"
    case `internal`
    case saveFailed = "save_failed"
    /// Cluster mode: every node that claimed the item stopped, stalled or
    /// died while it ran, `CALOTYPE_MAX_ATTEMPTS` times.
    case attemptsExhausted = "attempts_exhausted"
    // The server's state
    case tooManyConnections = "too_many_connections"
    case overloaded
    case shuttingDown = "shutting_down"
    /// Cluster mode: the cluster's database or storage did not answer.
    case clusterUnavailable = "cluster_unavailable"
    case deadlineExceeded = "deadline_exceeded"
    case cancelled
}

/// An error's code and its sentence for people.
public struct APIErrorDetail: Codable, Sendable, Hashable {
    public var code: APIErrorCode
    public var message: String

    public init(code: APIErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// The body of every error answer: `{"error":{"code","message"}}`.
public struct APIErrorBody: Codable, Sendable, Hashable {
    public var error: APIErrorDetail

    public init(_ code: APIErrorCode, _ message: String) {
        error = APIErrorDetail(code: code, message: message)
    }
}
