import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Server
import TestSupport
import Testing

@Suite("Hostile requests are refused while others are served", .timeLimit(.minutes(2)))
struct HostileRequestTests {
    @Test func aScanBombAnEnormousOutputAndALongRecipeAreRefusedAndAnOrdinaryRequestIsServed() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1200, height: 900, seed: 12) }
        let bomb = try await offThePool { try ProgressiveJPEG.scanBomb(from: photo) }
        let flips = Array(repeating: #"{"op":"flip","direction":"horizontal"}"#, count: 5000).joined(separator: ",")
        try await withServer { client, _ in
            let port = try #require(client.port)
            var bombBody = MultipartBody()
            bombBody.addFile("file", filename: "bomb.jpg", bomb)
            var longBody = MultipartBody()
            longBody.addFile("file", filename: "photo.jpg", photo)
            longBody.addField("recipe", #"{"ops":[\#(flips)]}"#)
            var hugeBody = MultipartBody()
            hugeBody.addFile("file", filename: "photo.jpg", photo)
            var ordinaryBody = MultipartBody()
            ordinaryBody.addFile("file", filename: "photo.jpg", photo)
            async let bombAnswer = post(bombBody, to: "/process?width=300", port: port)
            async let longAnswer = post(longBody, to: "/process", port: port)
            async let hugeAnswer = post(hugeBody, to: "/process?width=16384&height=16384&fit=fill&enlarge=true", port: port)
            async let ordinaryAnswer = post(ordinaryBody, to: "/process?width=300", port: port)
            let (bombed, long, huge, ordinary) = await (bombAnswer, longAnswer, hugeAnswer, ordinaryAnswer)
            #expect(bombed.hasPrefix("HTTP/1.1 413") && bombed.contains(#""code":"image_too_large""#) && bombed.contains("scans"))
            #expect(long.hasPrefix("HTTP/1.1 400") && long.contains(#""code":"invalid_recipe""#))
            #expect(huge.hasPrefix("HTTP/1.1 413") && huge.contains("would make a 16384x16384 image"))
            #expect(ordinary.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func aDamagedJPEGIsRefusedUnlessTheRecipeAcceptsIt() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1200, height: 900, seed: 21) }
        let flipped = DamagedJPEG.flipped(photo)
        try await withServer { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "flipped.jpg", flipped)
            try await client.execute(uri: "/process?width=300", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .unprocessableContent)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "corrupt_image")
            }
            try await client.execute(uri: "/process?width=300&fail_on=none", method: .post, headers: body.headers, body: body.body) { response in
                #expect(response.status == .ok)
            }
        }
    }

    /// One request on a connection of its own; the whole answer as text.
    private func post(_ body: MultipartBody, to uri: String, port: Int) async -> String {
        guard let connection = try? TCPConnection(port: port) else { return "connect failed" }
        defer { connection.close() }
        let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
        await connection.send(
            Array(
                "POST \(uri) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=\(body.boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                    .utf8
            ) + payload
        )
        return await connection.read(until: "\u{0}never")
    }
}
