import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import Scheduler

/// Every error the API answers with: a status and `{"error":{"code","message"}}`.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra headers (`Retry-After` for overload).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    /// The JSON body, also used for an item's `error` inside batch answers.
    var jsonBody: [UInt8] {
        let body = ErrorBody(error: .init(code: code, message: message))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)).map { [UInt8]($0) } ?? Array(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    // MARK: From the layers below

    init(_ error: RecipeError) {
        self.init(.badRequest, "invalid_recipe", error.description)
    }

    init(_ error: ProcessingError) {
        let (status, code): (HTTPResponse.Status, String) = switch error.code {
        case .unsupportedFormat: (.unsupportedMediaType, "unsupported_format")
        case .tooLarge: (.contentTooLarge, "image_too_large")
        case .corrupt: (.unprocessableContent, "corrupt_image")
        case .invalidRecipe: (.badRequest, "invalid_recipe")
        case .invalidForImage: (.unprocessableContent, "invalid_for_image")
        case .unsupportedByBackend: (.unprocessableContent, "unsupported_by_backend")
        case .backendFault: (.internalServerError, "backend_fault")
        case .cancelled: (.serviceUnavailable, "cancelled")
        case .internal: (.internalServerError, "internal")
        }
        self.init(status, code, error.detail.map { "\(error.message) (\($0))" } ?? error.message)
    }

    init(_ error: SchedulerError) {
        switch error {
        case .failed(let failure):
            self.init(failure)
        case .overloaded(let delay):
            self.init(.serviceUnavailable, "overloaded", "the server is at capacity; retry in \(Int(delay.seconds.rounded(.up))) s")
            headers[.retryAfter] = String(Int(delay.seconds.rounded(.up)))
        case .noUsableBackend(let reason):
            self.init(.unprocessableContent, "no_usable_backend", reason)
        case .deadlineExceeded:
            self.init(.gatewayTimeout, "deadline_exceeded", error.description)
        case .cancelled:
            self.init(.serviceUnavailable, "cancelled", error.description)
        case .shutDown:
            self.init(.serviceUnavailable, "shutting_down", "the server is shutting down")
            headers[.retryAfter] = "5"
        }
    }
}
