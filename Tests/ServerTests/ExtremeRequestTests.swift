import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Lengths and ids from request headers at their extremes: refused with a
/// JSON error before anything is reserved for them, never a trap.
@Suite("Extreme lengths and ids in requests", .timeLimit(.minutes(2)))
struct ExtremeRequestTests {
    @Test(arguments: [
        ("9223372036854775807", 413), ("104857601", 413), ("18446744073709551616", 400), ("-1", 400), ("-9223372036854775808", 400),
    ])
    func aContentLengthOutOfRangeIsRefusedBeforeTheBodyIsRead(length: String, status: Int) async throws {
        try await withServer { client, _ in
            let connection = try TCPConnection(port: try #require(client.port))
            defer { connection.close() }
            // Only the head: the answer must come without the body.
            await connection.send(Array("POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: \(length)\r\n\r\n".utf8))
            let answer = await connection.read(until: "}}")
            #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(length): \(answer)")
            #expect(answer.contains(#"{"error":{"code":""#), "\(length): \(answer)")
        }
    }

    @Test func lastEventIDsOutOfRangeAreRefusedOrAnsweredAsTheEnd() async throws {
        let lastEventID = try #require(HTTPField.Name("Last-Event-ID"))
        try await withServer { client, _ in
            let body = try MultipartBody.files(["photo.jpg"])
            let created = try await client.execute(uri: "/batches?width=40", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .accepted)
                return try decode(APIBatchCreated.self, response.body)
            }
            for (id, expected) in [
                ("-1", HTTPResponse.Status.badRequest), ("-9223372036854775808", .badRequest), ("99999999999999999999", .badRequest),
                ("1e3", .badRequest), ("", .badRequest),
            ] {
                try await client.execute(uri: created.eventsURL, method: .get, headers: [lastEventID: id]) { response in
                    #expect(response.status == expected, "Last-Event-ID: \(id)")
                    let error = try decode(ErrorBody.self, response.body).error
                    #expect(error.code == "invalid_last_event_id")
                }
            }
            // Past every event the batch will ever have: not an error to trap on.
            try await client.execute(uri: created.eventsURL, method: .get, headers: [lastEventID: "9223372036854775807"]) { response in
                #expect(response.status.code < 500, "\(response.status)")
            }
        }
    }
}
