import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import Scheduler

/// Every error the API answers with: a status and `{"error":{"code","message"}}`.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: APIErrorCode
    public var message: String
    /// Extra headers (`Retry-After` for overload).
    public var headers: HTTPFields = [:]
    /// The image was attempted and failed (its job, or its source), as
    /// opposed to a request refused before any work: the statistics count
    /// the one as a failed image, the other as a rejection.
    var imageFailed = false

    public init(_ status: HTTPResponse.Status, _ code: APIErrorCode, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code.rawValue): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    /// The code and message, as a batch item's `error` carries them.
    var detail: APIErrorDetail { APIErrorDetail(code: code, message: message) }

    /// The JSON body.
    var jsonBody: [UInt8] {
        (try? APIJSON.encode(APIErrorBody(code, message))).map { [UInt8]($0) }
            ?? Array(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
    }

    /// 503 when the memory budget has no room for a request's bytes.
    static func memoryBudgetFull() -> APIError {
        var error = APIError(
            .serviceUnavailable,
            .overloaded,
            "the server holds as much work as its memory budget allows (CALOTYPE_MEMORY_BUDGET_MB); retry in 1 s"
        )
        error.headers[.retryAfter] = "1"
        return error
    }

    // MARK: From the layers below

    init(_ error: RecipeError) {
        self.init(.badRequest, .invalidRecipe, error.description)
    }

    init(_ error: ProcessingError) {
        let (status, code): (HTTPResponse.Status, APIErrorCode) =
            switch error.code {
            case .unsupportedFormat: (.unsupportedMediaType, .unsupportedFormat)
            case .tooLarge: (.contentTooLarge, .imageTooLarge)
            case .corrupt: (.unprocessableContent, .corruptImage)
            case .invalidRecipe: (.badRequest, .invalidRecipe)
            case .invalidForImage: (.unprocessableContent, .invalidForImage)
            case .unsupportedByBackend: (.unprocessableContent, .unsupportedByBackend)
            case .backendFault: (.internalServerError, .backendFault)
            case .cancelled: (.serviceUnavailable, .cancelled)
            case .internal: (.internalServerError, .internal)
            }
        self.init(status, code, error.detail.map { "\(error.message) (\($0))" } ?? error.message)
    }

    init(_ error: SchedulerError) {
        switch error {
        case .failed(let failure):
            self.init(failure)
        case .overloaded(let delay):
            self.init(.serviceUnavailable, .overloaded, "the server is at capacity; retry in \(Int(delay.seconds.rounded(.up))) s")
            headers[.retryAfter] = String(Int(delay.seconds.rounded(.up)))
        case .noUsableBackend(let reason):
            self.init(.unprocessableContent, .noUsableBackend, reason)
        case .deadlineExceeded:
            self.init(.gatewayTimeout, .deadlineExceeded, error.description)
        case .cancelled:
            self.init(.serviceUnavailable, .cancelled, error.description)
        case .shutDown:
            self.init(.serviceUnavailable, .shuttingDown, "the server is shutting down")
            headers[.retryAfter] = "5"
        case .inputUnavailable(let reason):
            self.init(.unprocessableContent, .inputUnavailable, reason)
        case .sourceFailed(let failure):
            self.init(failure)
        }
        switch error {
        case .overloaded, .cancelled, .shutDown: break
        default: imageFailed = true
        }
    }

    init(_ error: SourceError) {
        let status: HTTPResponse.Status =
            switch error {
            case .invalidReference: .badRequest
            case .notAllowed: .forbidden
            case .notFound: .notFound
            case .timeout: .gatewayTimeout
            case .unreachable: .badGateway
            case .tooLarge: .contentTooLarge
            case .overloaded: .serviceUnavailable
            }
        self.init(status, error.code, error.description)
        if case .overloaded = error { headers[.retryAfter] = "1" }
        // The origin failed (not a refusal of the request's own).
        imageFailed = status.code >= 500 && status != .serviceUnavailable
    }
}
