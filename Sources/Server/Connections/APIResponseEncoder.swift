import CalotypeCore
import Foundation
import Hummingbird
import NIOCore

/// How every endpoint writes JSON: the API's encoding (`APIJSON`: sorted
/// keys, slashes unescaped) as `application/json`. It is the request
/// context's `responseEncoder`, so that routes answer through Hummingbird's
/// own encoding step, and a value that cannot be encoded is an error the
/// responder answers 500 `internal` and logs, never an empty object.
public struct APIResponseEncoder: ResponseEncoder {
    /// `/stats` spells its keys in snake case, as Prometheus' tools do.
    var snakeCase = false

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let body: Data
        if snakeCase {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            body = try encoder.encode(value)
        } else {
            body = try APIJSON.encode(value)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
