import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Server
import TestSupport
import Testing

/// Sends `request` on a fresh connection and reads until the server closes it.
private func exchange(_ request: String, port: Int) async throws -> String {
    let connection = try TCPConnection(port: port)
    defer { connection.close() }
    await connection.send(Array(request.utf8))
    return await connection.read(until: "\u{0}never")
}

/// A plain `GET /health` that asks the server to close afterwards.
private let healthRequest = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

@Suite("Connections: idle and slow clients, the connection cap, non-HTTP", .timeLimit(.minutes(2)))
struct ConnectionTests {
    @Test func aConnectionThatSendsNothingIsClosedAfterTheIdleTimeout() async throws {
        try await withServer(configure: { $0.idleTimeout = .seconds(1) }) { client, _ in
            let port = try #require(client.port)
            let silent = try (0..<8).map { _ in try TCPConnection(port: port) }
            defer { for connection in silent { connection.close() } }
            // While they sit there, an ordinary request is answered.
            let answer = try await exchange(healthRequest, port: port)
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            // Each silent connection is closed by the server: the read ends with nothing.
            for connection in silent {
                #expect(await connection.read(until: "\u{0}never").isEmpty)
            }
        }
    }

    @Test func aRequestTrickledBeyondTheReadTimeoutIsCutOff() async throws {
        try await withServer(configure: { $0.readTimeout = .seconds(1) }) { client, _ in
            let port = try #require(client.port)
            let connection = try TCPConnection(port: port)
            defer { connection.close() }
            // A head and 10 of the 100,000 bytes it announces; then the client keeps
            // the connection busy with a byte now and then, which an idle timeout
            // alone would never cut.
            await connection.send(
                Array("POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n0123456789".utf8)
            )
            let trickle = Task {
                while !Task.isCancelled {
                    await connection.send([0x30])
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            defer { trickle.cancel() }
            let answer = await connection.read(until: "\u{0}never")
            #expect(!answer.contains("200 OK"), "the server closed the connection without processing: \(answer)")
            #expect(try await exchange(healthRequest, port: port).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func aConnectionOverTheCapIsRefusedWithAJSONAnswer() async throws {
        try await withServer(configure: { $0.maxConnections = 3 }) { client, _ in
            let port = try #require(client.port)
            // The test client's own connection is the first of three.
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            let held = try (0..<2).map { _ in try TCPConnection(port: port) }
            for connection in held {
                await connection.send(Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
                #expect(await connection.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200"))
            }
            let refused = try await exchange(healthRequest, port: port)
            #expect(refused.hasPrefix("HTTP/1.1 503"))
            #expect(refused.lowercased().contains("retry-after: 1"))
            #expect(refused.contains(#""code":"too_many_connections""#))
            // Once one of them goes, a new connection is served again.
            held[0].close()
            var served = false
            // The server sees the close a moment later, and each refused try
            // holds a slot itself until its lingering close ends (at most 2 s):
            // tries closer than that can keep the cap full on a loaded machine.
            for _ in 0..<15 where !served {
                served = try await exchange(healthRequest, port: port).hasPrefix("HTTP/1.1 200")
                if !served { try await Task.sleep(for: .milliseconds(2100)) }
            }
            #expect(served)
            held[1].close()
        }
    }

    @Test func somethingThatIsNotHTTPGetsAJSONError() async throws {
        try await withServer { client, _ in
            let port = try #require(client.port)
            let answer = try await exchange("HELLO THERE\r\n\r\n", port: port)
            #expect(answer.hasPrefix("HTTP/1.1 400"))
            #expect(answer.contains(#""code":"malformed_request""#))
            #expect(answer.lowercased().contains("content-type: application/json"))
        }
    }

    @Test func unknownPathsAndMethodsGetJSONErrors() async throws {
        try await withServer { client, _ in
            try await client.execute(uri: "/no-such-thing", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "not_found")
            }
            try await client.execute(uri: "/process", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "method_not_allowed")
            }
            try await client.execute(uri: "/batches/some-id", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "DELETE, GET")
            }
            try await client.execute(uri: "/health", method: .init("TRACE")!) { response in
                #expect(response.status == .methodNotAllowed)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "method_not_allowed")
            }
            try await client.execute(uri: "/health", method: .head) { #expect($0.status == .ok) }
            // A route's own 404 keeps its own message.
            try await client.execute(uri: "/results/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.message.contains("nothing-here"))
            }
        }
    }

    /// The answer comes while the body still arrives (Hummingbird then
    /// reads the rest and drops it). A raw connection sends the body whole
    /// and reads the answer after: HummingbirdTesting's client fails its
    /// request when the answer beats its own write ("I/O on closed
    /// channel"), which a loaded machine made likely.
    @Test func aBodyOfCountlessPartsIsRefusedWithoutHoldingUpOthers() async throws {
        try await withServer { client, _ in
            let port = try #require(client.port)
            // 400,000 empty parts in 17 MB: refused as soon as part 117 is found.
            let body = try await offThePool {
                let part = Array("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n".utf8)
                var body = [UInt8]()
                body.reserveCapacity(part.count * 400_000 + 8)
                for _ in 0..<400_000 { body += part }
                return body + Array("--b--\r\n".utf8)
            }
            let head =
                "POST /process-batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                + "Content-Length: \(body.count)\r\n\r\n"
            let connection = try TCPConnection(port: port)
            defer { connection.close() }
            // Kept alive: the server reads the rest of the body after its answer, so the send ends.
            await connection.send(Array(head.utf8) + body)
            let answer = await connection.read(until: "}}")
            #expect(statusCode(of: answer) == 413, "\(answer.prefix(300))")
            let json = try #require(answer.range(of: "\r\n\r\n")).upperBound
            let error = try decode(ErrorBody.self, ByteBuffer(string: String(answer[json...]))).error
            #expect(error.code == "too_many_parts")
            #expect(error.message.contains("116"))
            #expect(try await exchange(healthRequest, port: port).hasPrefix("HTTP/1.1 200"))
        }
    }
}
