import CalotypeApp
import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Scheduler
import Server
import Testing

/// What the receiver saw.
final class SinkLog: Sendable {
    struct Upload: Sendable {
        let name: String
        let type: String
        let bytes: Int
    }

    private let state = NIOLockedValueBox((attempts: 0, received: [Upload]()))

    var attempts: Int { state.withLockedValue { $0.attempts } }
    var received: [Upload] { state.withLockedValue { $0.received } }

    func attempt() -> Int {
        state.withLockedValue {
            $0.attempts += 1
            return $0.attempts
        }
    }
    func keep(_ upload: Upload) { state.withLockedValue { $0.received.append(upload) } }
}

@Suite("Saving to an HTTP endpoint", .timeLimit(.minutes(2)))
struct SaveSinkTests {
    /// A receiver that fails its first `failures` uploads with 500, then keeps them.
    func receiver(failures: Int, log: SinkLog) -> some ApplicationProtocol {
        let router = Router()
        router.post("upload") { request, _ -> Response in
            let attempt = log.attempt()
            let body = try await request.body.collect(upTo: 10 << 20)
            guard attempt > failures else { return Response(status: .internalServerError) }
            let name = request.headers[HTTPField.Name("X-Calotype-Filename")!] ?? ""
            log.keep(.init(name: name, type: request.headers[.contentType] ?? "", bytes: body.readableBytes))
            return Response(status: .created, headers: [.location: "http://receiver/stored/\(name)"])
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func resultsArePostedWithRetriesAfterFailures() async throws {
        let log = SinkLog()
        try await receiver(failures: 2, log: log).test(.live) { sink in
            let port = try #require(sink.port)
            try await withServer(configure: { $0.saveSink = HTTPResultSink(url: URL(string: "http://127.0.0.1:\(port)/upload")!) }) { client, _ in
                var body = MultipartBody()
                body.addFile("file", filename: "holiday photo.jpg", try Fixtures.bytes("photo.jpg"))
                try await client.execute(uri: "/process-and-save?width=40&format=png", method: .post, headers: body.headers, body: body.body) {
                    response in
                    #expect(response.status == .ok)
                    let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    let result = (json?["results"] as? [[String: Any]])?.first
                    #expect(result?["saved_to"] as? String == "http://receiver/stored/holiday_photo.png")
                }
            }
        }
        #expect(log.attempts == 3)
        let stored = log.received
        #expect(
            stored.count == 1 && stored.first?.name == "holiday_photo.png" && stored.first?.type == "image/png" && (stored.first?.bytes ?? 0) > 100
        )
    }

    @Test func aReceiverThatNeverAcceptsIs502AndTheResultIsKept() async throws {
        let log = SinkLog()
        try await receiver(failures: Int.max, log: log).test(.live) { sink in
            let port = try #require(sink.port)
            try await withServer(configure: { $0.saveSink = HTTPResultSink(url: URL(string: "http://127.0.0.1:\(port)/upload")!) }) { client, _ in
                let body = try MultipartBody.files(["photo.jpg"])
                let url = try await client.execute(
                    uri: "/process-and-save?width=40&format=png",
                    method: .post,
                    headers: body.headers,
                    body: body.body
                ) { response in
                    #expect(response.status == .badGateway)
                    let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    let result = (json?["results"] as? [[String: Any]])?.first
                    #expect((result?["error"] as? [String: Any])?["code"] as? String == "save_failed")
                    return result?["url"] as? String
                }
                try await client.execute(uri: try #require(url), method: .get) { response in
                    #expect(response.status == .ok && response.headers[.contentType] == "image/png")
                }
            }
        }
        #expect(log.attempts == 4)
        #expect(log.received.isEmpty)
    }
}
