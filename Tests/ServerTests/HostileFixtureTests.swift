import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing

/// Every hostile file, 8 at a time over several rounds, as uploads and as
/// raw bodies: each is answered 4xx with a JSON error, and the server lives
/// and serves an ordinary photo afterwards. Two 66-byte PNGs declaring
/// 2^30 x 2^30 pixels, posted at once, once ended the process (an overflow
/// in the memory budget, counted before the pixel limit refused them).
@Suite("Hostile files, many at once", .timeLimit(.minutes(4)))
struct HostileFixtureTests {
    static let concurrency = 8
    static let rounds = 2

    @Test func everyHostileFileIsRefusedWith4xxAndTheServerLives() async throws {
        let photo = try Fixtures.bytes("photo.jpg")
        let large = try await offThePool { try SyntheticImage.jpeg(width: 1200, height: 900, seed: 5) }
        let scanBomb = try await offThePool { try ProgressiveJPEG.scanBomb(from: large) }
        var samples = HostileImages.all(photo: photo)
        samples += try ["bomb.png", "huge-header.png", "document.pdf", "matrix.mat"].map {
            HostileImages.Sample(name: $0, bytes: try Fixtures.bytes($0))
        }
        samples += [
            HostileImages.Sample(name: "scan-bomb.jpg", bytes: scanBomb),
            HostileImages.Sample(name: "damaged.jpg", bytes: DamagedJPEG.flipped(large)),
        ]
        let requests = samples.flatMap { sample in [Upload(sample: sample, raw: false), Upload(sample: sample, raw: true)] }
        // The test client's connection waits through the rounds: no idle
        // timeout may close it, however slow the machine (under
        // AddressSanitizer beside other suites the rounds took minutes).
        let patient: (inout ServerConfiguration) -> Void = { configuration in
            configuration.idleTimeout = .seconds(3600)
            configuration.readTimeout = .seconds(3600)
        }
        try await withServer(configure: patient) { client, _ in
            let port = try #require(client.port)
            for round in 1...Self.rounds {
                let answers = await Self.post(requests, port: port)
                for (request, answer) in zip(requests, answers) {
                    let status = statusCode(of: answer)
                    #expect(
                        (400..<500).contains(status),
                        "round \(round): \(request.sample.name) (raw: \(request.raw)) answered \(answer.prefix(300))"
                    )
                    #expect(
                        answer.contains(#"{"error":{"code":""#),
                        "round \(round): \(request.sample.name) without a JSON error: \(answer.prefix(300))"
                    )
                }
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", photo)
            try await client.execute(uri: "/process?width=100", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .ok)
            }
        }
    }

    struct Upload: Sendable {
        let sample: HostileImages.Sample
        /// A raw `image/*` body instead of a multipart upload.
        let raw: Bool

        var request: [UInt8] {
            if raw {
                return Array(
                    "POST /process?width=300 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: image/png\r\nContent-Length: \(sample.bytes.count)\r\n\r\n"
                        .utf8
                )
                    + sample.bytes
            }
            var body = MultipartBody()
            body.addFile("file", filename: sample.name, sample.bytes)
            let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
            return Array(
                "POST /process?width=300 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=\(body.boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                    .utf8
            ) + payload
        }
    }

    /// Each request on a connection of its own, `concurrency` at a time;
    /// the answers in the requests' order.
    static func post(_ uploads: [Upload], port: Int) async -> [String] {
        await withTaskGroup(of: (Int, String).self) { group in
            var answers = [String](repeating: "", count: uploads.count)
            var next = 0
            func add() {
                guard next < uploads.count else { return }
                let index = next
                let upload = uploads[index]
                next += 1
                group.addTask {
                    guard let connection = try? TCPConnection(port: port) else { return (index, "connect failed") }
                    defer { connection.close() }
                    await connection.send(upload.request)
                    return (index, await connection.read(until: "\u{0}never"))
                }
            }
            for _ in 0..<concurrency { add() }
            while let (index, answer) = await group.next() {
                answers[index] = answer
                add()
            }
            return answers
        }
    }
}
