import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOPosix
import Scheduler
import Server
import TestSupport
import Testing

@Suite("Deadlines that stop work", .timeLimit(.minutes(2)))
struct DeadlineTests {
    /// A recipe that runs for minutes is answered 504 at its deadline and its
    /// worker is free again: with one worker and a 2 s deadline (queue
    /// included), the ordinary request after it could not be served if the
    /// long job were still running. The 504 itself comes once the job has
    /// stopped: as one lazy graph this recipe noticed the kill flag 19 s late.
    @Test func aJobPastItsDeadlineStopsAndFreesItsWorker() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 9) }
        let engine = Engine.Configuration(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(2)), useGPU: false)
        try await withServer(engine: engine) { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "deep.jpg", photo)
            body.addField("recipe", minutesLongRecipe)
            let sent = ContinuousClock.now
            try await client.execute(uri: "/process", method: .post, headers: body.headers, body: body.body) { response in
                let answered = ContinuousClock.now - sent
                // The recipe runs for minutes: an answer within the test client's
                // own 20 s shows the job stopped (a loaded sanitized run took 16.5 s).
                #expect(answered < .seconds(19), "the job stopped \(answered - .seconds(2)) after its deadline")
                #expect(response.status == .gatewayTimeout)
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "deadline_exceeded")
            }
            var ordinary = MultipartBody()
            ordinary.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            try await client.execute(uri: "/process?width=64", method: .post, headers: ordinary.headers, body: ordinary.body) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

/// Waits for scheduler events, as the engine's observer reports them, and
/// says when each happened (noted as it is reported, so a busy test run's
/// delay in resuming the waiter does not count).
final class SchedulerEvents: Sendable {
    private typealias Waiter = (matches: @Sendable (Scheduler.Event) -> Bool, continuation: CheckedContinuation<ContinuousClock.Instant, Never>)
    private let state = NIOLockedValueBox((seen: [(event: Scheduler.Event, at: ContinuousClock.Instant)](), waiters: [Waiter]()))

    var observer: @Sendable (Scheduler.Event) -> Void {
        { [self] event in
            let now = ContinuousClock.now
            let ready = state.withLockedValue { state in
                state.seen.append((event, now))
                let ready = state.waiters.filter { $0.matches(event) }
                state.waiters.removeAll { $0.matches(event) }
                return ready.map(\.continuation)
            }
            for waiter in ready { waiter.resume(returning: now) }
        }
    }

    /// Returns, once an event matching `matches` has happened, when it did.
    @discardableResult
    func wait(for matches: @escaping @Sendable (Scheduler.Event) -> Bool) async -> ContinuousClock.Instant {
        await withCheckedContinuation { continuation in
            let seen = state.withLockedValue { state -> ContinuousClock.Instant? in
                if let match = state.seen.first(where: { matches($0.event) }) { return match.at }
                state.waiters.append((matches, continuation))
                return nil
            }
            if let seen { continuation.resume(returning: seen) }
        }
    }
}

/// The recipe that runs for minutes: 16 blurs of sigma 100, as PNG.
let minutesLongRecipe = #"{"ops":["# + Array(repeating: #"{"op":"blur","sigma":100}"#, count: 16).joined(separator: ",") + #"],"format":"png"}"#

/// POSTs `photo` to /process with `minutesLongRecipe` on a connection of its
/// own, which the caller closes to leave.
func postMinutesLongJob(_ photo: [UInt8], name: String, port: Int) async throws -> TCPConnection {
    var body = MultipartBody()
    body.addFile("file", filename: name, photo)
    body.addField("recipe", minutesLongRecipe)
    let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
    let connection = try TCPConnection(port: port)
    await connection.send(
        Array(
            "POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\(body.boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                .utf8
        ) + payload
    )
    return connection
}

@Suite("Clients that leave stop their work", .timeLimit(.minutes(2)))
struct DepartureTests {
    /// The job of a client that closes its connection is stopped: the
    /// recipe runs for minutes, and its job ends moments after the client goes.
    @Test func aClientThatLeavesStopsItsJob() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 10) }
        let events = SchedulerEvents()
        let engine = Engine.Configuration(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(600)), useGPU: false, observer: events.observer)
        try await withServer(engine: engine) { client, _ in
            let connection = try await postMinutesLongJob(photo, name: "deep.jpg", port: try #require(client.port))
            await events.wait { $0.kind == .started && $0.input == "deep.jpg" }
            let left = ContinuousClock.now
            connection.close()
            let finished = await events.wait { $0.kind == .finished && $0.input == "deep.jpg" }
            let stopping = finished - left
            #expect(stopping < .seconds(10), "the job ran \(stopping) after its client left")
        }
    }
}

extension DepartureTests {
    /// Watching for a client's departure leaves its connection as it was:
    /// a kept-alive client's next request on it is answered. (Hummingbird's
    /// own `consumeWithCancellationOnInboundClose` closes the connection once
    /// the answer is written, unannounced: the second request got nothing.)
    @Test func aKeptAliveConnectionIsAnsweredRequestAfterRequest() async throws {
        let photo = try Fixtures.bytes("photo.jpg")
        try await withServer { client, _ in
            var body = MultipartBody()
            body.addFile("file", filename: "photo.jpg", photo)
            let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
            let head =
                "POST /process?width=8&format=png HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\(body.boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
            let connection = try TCPConnection(port: try #require(client.port))
            defer { connection.close() }
            for round in 1...3 {
                await connection.send(Array(head.utf8) + payload)
                // Each read ends at the PNG's last chunk: the next one starts
                // with that chunk's checksum, before its own status line.
                let answer = await connection.read(until: "IEND")
                #expect(answer.contains("HTTP/1.1 200 OK\r\n"), "request \(round) on one connection")
            }
        }
    }
}

@Suite("Memory budget at the door", .timeLimit(.minutes(2)))
struct MemoryBudgetAdmissionTests {
    /// While admitted work holds the budget, a new request is answered 503
    /// with `Retry-After` before its body is read; once the work ends, new
    /// requests are admitted again.
    @Test func aRequestBeyondTheBudgetIsRefusedUntilRoomComes() async throws {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 14) }
        let events = SchedulerEvents()
        // 1.9 MP decode to be held (7.7 MB estimated) against a 4 MiB budget.
        var engine = Engine.Configuration(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(600)), useGPU: false, observer: events.observer)
        engine.memoryBudget = 4 << 20
        try await withServer(engine: engine) { client, _ in
            let holder = try await postMinutesLongJob(photo, name: "deep.jpg", port: try #require(client.port))
            await events.wait { $0.kind == .started && $0.input == "deep.jpg" }

            var small = MultipartBody()
            small.addFile("file", filename: "photo.jpg", try Fixtures.bytes("photo.jpg"))
            try await client.execute(uri: "/process?width=50", method: .post, headers: small.headers, body: small.body) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let error = try decode(ErrorBody.self, response.body).error
                #expect(error.code == "overloaded")
                #expect(error.message.contains("memory budget"))
            }
            holder.close()  // the heavy job stops and gives its share back
            await events.wait { $0.kind == .finished && $0.input == "deep.jpg" }
            try await client.execute(uri: "/process?width=50", method: .post, headers: small.headers, body: small.body) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
