import Foundation
import HummingbirdTesting
import Testing

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1's rules at the connection (RFC 9110, RFC 9112), spoken over raw
/// sockets to a live server: what the server answers a request it must
/// refuse, and when it closes the connection.
///
/// The server's idle and read timeouts are set far beyond the tests' read
/// deadline, so a connection seen to close was closed by the answer, never
/// by a timeout; a connection that must stay open is shown to by a second
/// request answered on it.
@Suite("HTTP/1.1 conformance at the connection", .timeLimit(.minutes(2)))
struct HTTPConformanceTests {
    /// Timeouts no test reaches.
    private static func patient(_ configuration: inout ServerConfiguration) {
        configuration.idleTimeout = .seconds(600)
        configuration.readTimeout = .seconds(600)
    }

    private static let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test func connectIsAnswered501AndTheConnectionClosed() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            await connection.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            let answer = try await connection.readResponse()
            try answer.expectError(501, "not_implemented", closing: true)
            #expect(await connection.readUntilClosed())
        }
    }

    @Test func aMethodTheParserDoesNotKnowIs501AndOneThePathDoesNotTakeIs405() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let port = try #require(client.port)
            // A method the parser does not know: the connection cannot go on.
            let unparsed = try RawConnection(port: port)
            defer { unparsed.close() }
            await unparsed.send("FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
            let foo = try await unparsed.readResponse()
            try foo.expectError(501, "not_implemented", closing: true)
            #expect(foo.json?.error.message.contains("FOO") == true)
            #expect(await unparsed.readUntilClosed())

            // Parsed, but taken by no route: 405 with what the path takes, or 404
            // where there is no such path; the connection goes on.
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            for method in ["PROPFIND", "QUERY"] {
                await connection.send("\(method) /health HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = try await connection.readResponse()
                try answer.expectError(405, "method_not_allowed", closing: false)
                #expect(answer.headers("Allow") == ["GET"])
                await connection.send("\(method) /no-such-thing HTTP/1.1\r\nHost: x\r\n\r\n")
                try await connection.readResponse().expectError(404, "not_found", closing: false)
            }
            // A standard method the path does not take: 405 with what it takes.
            await connection.send("TRACE /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let trace = try await connection.readResponse()
            try trace.expectError(405, "method_not_allowed", closing: false)
            #expect(trace.headers("Allow") == ["GET"])
            await connection.send(Self.health)
            #expect(try await connection.readResponse().status == 200)
        }
    }

    @Test func anHTTP10RequestIsAnsweredInFullAndItsConnectionClosedUnlessItAsksToKeepIt() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let port = try #require(client.port)
            let closing = try RawConnection(port: port)
            defer { closing.close() }
            await closing.send("GET /health HTTP/1.0\r\n\r\n")  // HTTP/1.0 needs no Host.
            let answer = try await closing.readResponse()
            #expect(answer.status == 200)
            #expect(answer.headers("Content-Length") == [String(answer.body.count)])
            #expect(answer.headers("Connection").map { $0.lowercased() } == ["close"])
            #expect(answer.body.count > 0)
            #expect(await closing.readUntilClosed())

            let kept = try RawConnection(port: port)
            defer { kept.close() }
            for _ in 0..<2 {
                await kept.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let answer = try await kept.readResponse()
                #expect(answer.status == 200)
                #expect(answer.headers("Connection").map { $0.lowercased() } == ["keep-alive"])
            }
        }
    }

    @Test func anHTTP11RequestWithoutOneHostIs400AndItsConnectionClosed() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let port = try #require(client.port)
            for request in [
                "GET /health HTTP/1.1\r\nX-Request-ID: without-host\r\n\r\n",
                "GET /health HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
                "GET /health HTTP/1.0\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
            ] {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                await connection.send(request)
                let answer = try await connection.readResponse()
                try answer.expectError(400, "malformed_request", closing: true)
                #expect(answer.json?.error.message.contains("Host") == true)
                // Answered without a route, yet with a request id like every answer (the client's own when it sent one).
                #expect(answer.headers("X-Request-ID").count == 1)
                if request.contains("without-host") { #expect(answer.headers("X-Request-ID") == ["without-host"]) }
                #expect(await connection.readUntilClosed())
            }
        }
    }

    @Test func aChunkOverTheBodyLimitIsRefusedAtOnceAndTheConnectionClosed() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let port = try #require(client.port)
            let head = "POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
            // The chunk's size only, no byte of it: the answer cannot wait for the body.
            for (size, status, code) in [("7fffffffffffffff", 413, "payload_too_large"), ("ffffffffffffffffff", 400, "malformed_request")] {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                await connection.send("\(head)\(size)\r\n")
                try await connection.readResponse().expectError(status, code, closing: true)
                #expect(await connection.readUntilClosed())
            }
        }
    }

    @Test func aChunkedBodyWithinTheLimitIsServedAndTheConnectionGoesOn() async throws {
        let photo = try Fixtures.bytes("photo.jpg")
        try await withServer(configure: Self.patient) { client, _ in
            let connection = try RawConnection(port: try #require(client.port))
            defer { connection.close() }
            let half = photo.count / 2
            var request = Array("POST /process?width=64 HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            request += Array("\(String(half, radix: 16));name=value\r\n".utf8) + photo[..<half] + Array("\r\n".utf8)
            request += Array("\(String(photo.count - half, radix: 16))\r\n".utf8) + photo[half...] + Array("\r\n".utf8)
            request += Array("0\r\nX-Trailer: yes\r\n\r\n".utf8)
            await connection.send(request + Array(Self.health.utf8))
            let processed = try await connection.readResponse()
            #expect(processed.status == 200)
            #expect(processed.headers("Content-Length") == [String(processed.body.count)])
            #expect(try await connection.readResponse().status == 200)
        }
    }

    @Test func aMalformedRequestIsAnswered400AndItsConnectionClosed() async throws {
        try await withServer(configure: Self.patient) { client, _ in
            let port = try #require(client.port)
            for request in [
                "GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                "HELLO THERE\r\n\r\n",
                // Broken mid-body, while the route reads it: the JSON 400 in place of the route's answer.
                "POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n",
            ] {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                await connection.send(request)
                try await connection.readResponse().expectError(400, "malformed_request", closing: true)
                #expect(await connection.readUntilClosed())
            }
            // Behind an ordinary request on the same connection: answered in order, then closed.
            let connection = try RawConnection(port: port)
            defer { connection.close() }
            await connection.send(Self.health + "GET /health HTTP/1.1\r\n\r\n" + Self.health)
            #expect(try await connection.readResponse().status == 200)
            try await connection.readResponse().expectError(400, "malformed_request", closing: true)
            #expect(await connection.readUntilClosed())
        }
    }
}

/// `RequestFraming` on its own: it must keep its place in a connection's
/// bytes however they are split, and refuse only a chunk size.
@Suite("HTTP/1.1 conformance: following a connection's framing")
struct RequestFramingTests {
    /// Follows `bytes` in pieces that end at `cuts`: the refusal, at its offset in `bytes`.
    private static func follow(_ bytes: [UInt8], limit: Int = 1000, cuts: [Int] = []) -> (offset: Int, error: APIError)? {
        var framing = RequestFraming(maxChunkSize: limit)
        var start = 0
        for end in cuts + [bytes.count] where end > start {
            if let refusal = bytes[start..<end].withUnsafeBytes({ framing.follow($0) }) {
                return (start + refusal.offset, refusal.error)
            }
            start = end
        }
        return nil
    }

    @Test func aChunkOverTheLimitIsFoundBehindOtherRequestsHoweverTheBytesAreSplit() throws {
        let before = Array(
            """
            POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nffffffff\r\n\r\n\
            POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
            5;ext="a b"\r\nhello\r\n000A\r\n0123456789\r\n0\r\nX-Trailer: ffffffff\r\n\r\n\
            \r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n\
            POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n
            """.utf8
        )
        let stream = before + [UInt8](repeating: 0x66, count: 1000) + Array("\r\n7fffffffffffffff\r\n".utf8)
        // 0x7ff, the third digit of the last size, is the first number over 1000.
        let expected = before.count + 1000 + 2 + 2
        let whole = try #require(Self.follow(stream))
        #expect(whole.offset == expected)
        #expect(whole.error.status == .contentTooLarge && whole.error.code == .payloadTooLarge)
        #expect(whole.error.message.contains("9223372036854775807"))
        for cut in 1..<stream.count {
            let split = Self.follow(stream, cuts: [cut])
            #expect(split?.offset == expected && split?.error.code == .payloadTooLarge, "split at \(cut)")
        }
        #expect(Self.follow(stream, cuts: Array(1..<stream.count))?.offset == expected)
    }

    @Test func aChunkSizeNoNumberHoldsIs400() throws {
        let request = Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n".utf8)
        let refusal = try #require(Self.follow(request))
        #expect(refusal.error.status == .badRequest && refusal.error.code == .malformedRequest)
    }

    @Test func whatItCannotFollowIsLeftToTheParser() {
        let huge = "7fffffffffffffff\r\n"
        for head in [
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: other\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            #expect(Self.follow(Array((head + huge).utf8)) == nil, "\(head)")
        }
        // A chunk at the limit is no chunk over it.
        #expect(Self.follow(Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3E8\r\n".utf8)) == nil)
    }

    @Test func aRequestLineIsWellFormedWhateverItsMethod() {
        for (line, method) in [
            ("FOO /x HTTP/1.1", "FOO"), ("PROP-FIND * HTTP/1.0", "PROP-FIND"), ("HELLO THERE", nil), ("GET / HTTP/2.0", nil),
            ("GET  / HTTP/1.1", nil), ("G(T / HTTP/1.1", nil),
        ] as [(String, String?)] {
            var framing = RequestFraming(maxChunkSize: 1000)
            _ = Array("\(line)\r\n".utf8).withUnsafeBytes { framing.follow($0) }
            #expect(framing.methodOfWellFormedRequestLine == method, "\(line)")
        }
    }
}

// MARK: A raw client whose reads have a deadline

/// One response as it came: status, header lines, and the body its `Content-Length` announced.
private struct RawResponse {
    var status: Int
    var headerLines: [(name: String, value: String)]
    var body: [UInt8]

    func headers(_ name: String) -> [String] {
        headerLines.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var json: ErrorBody? { try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) }

    /// A whole JSON error: status, code, a `Content-Length` that is the body's, and `Connection: close` when `closing`.
    func expectError(_ status: Int, _ code: String, closing: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(headers("Content-Length") == [String(body.count)], sourceLocation: sourceLocation)
        #expect(headers("Content-Type") == ["application/json"], sourceLocation: sourceLocation)
        let error = try #require(json, "not a JSON error: \(String(decoding: body, as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(error.error.code == code, sourceLocation: sourceLocation)
        #expect(headers("Connection").contains { $0.lowercased() == "close" } == closing, sourceLocation: sourceLocation)
    }
}

private enum RawReadError: Error {
    case closedEarly(received: String)
    case malformed(String)
}

/// A TCP connection to the server on loopback. Each receive waits at most
/// `deadline` in all, so a server that fails to answer or to close fails the
/// test instead of holding it.
private final class RawConnection: @unchecked Sendable {  // Used by one test task at a time.
    private let socket: Int32
    private var pending: [UInt8] = []
    private let deadline: Duration

    init(port: Int, deadline: Duration = .seconds(20)) throws {
        self.deadline = deadline
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // Each receive returns after at most 100 ms, so that the deadline is checked.
        var tick = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &tick, socklen_t(MemoryLayout<timeval>.size))
        try #require(socket >= 0 && status == 0, "connect failed")
    }

    func close() { Glibc.close(socket) }

    func send(_ text: String) async { await send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) async {
        await offTheCooperativePool {
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { Glibc.send(self.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { return }
                sent += count
            }
        }
    }

    /// The next response on the connection.
    func readResponse() async throws -> RawResponse {
        let result: Result<RawResponse, RawReadError> = await offTheCooperativePool { self.readResponseBlocking() }
        return try result.get()
    }

    /// Whether the server closes the connection (with nothing more sent) before the deadline.
    func readUntilClosed() async -> Bool {
        await offTheCooperativePool {
            let end = ContinuousClock.now + self.deadline
            while ContinuousClock.now < end {
                switch self.receive() {
                case .bytes(let count): if count > 0 { return false }  // More came: not the end.
                case .closed: return self.pending.isEmpty
                case .wouldBlock: continue
                }
            }
            return false
        }
    }

    private enum Received {
        case bytes(Int)
        case closed
        case wouldBlock
    }

    /// One receive into `pending`.
    private func receive() -> Received {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            pending += buffer[0..<count]
            return .bytes(count)
        }
        if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .wouldBlock }
        return .closed  // EOF, or a reset
    }

    private func readResponseBlocking() -> Result<RawResponse, RawReadError> {
        let end = ContinuousClock.now + deadline
        var closed = false
        func fill(until satisfied: () -> Bool) {
            while !satisfied(), !closed, ContinuousClock.now < end {
                if case .closed = receive() { closed = true }
            }
        }
        let separator = Array("\r\n\r\n".utf8)
        fill { pending.firstRange(of: separator) != nil }
        guard let headEnd = pending.firstRange(of: separator) else {
            return .failure(.closedEarly(received: String(decoding: pending, as: UTF8.self)))
        }
        let lines = String(decoding: pending[..<headEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            return .failure(.malformed(lines[0]))
        }
        var headerLines: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .failure(.malformed(line)) }
            headerLines.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let declared = headerLines.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) }
        guard let length = declared else { return .failure(.malformed("no Content-Length")) }
        let bodyStart = headEnd.upperBound
        fill { pending.count - bodyStart >= length }
        guard pending.count - bodyStart >= length else {
            return .failure(.closedEarly(received: String(decoding: pending, as: UTF8.self)))
        }
        let body = Array(pending[bodyStart..<(bodyStart + length)])
        pending.removeSubrange(..<(bodyStart + length))
        return .success(RawResponse(status: status, headerLines: headerLines, body: body))
    }

    /// Socket calls block: they run on a Dispatch thread, never on Swift's
    /// cooperative pool, which the server under test needs to answer.
    private func offTheCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
