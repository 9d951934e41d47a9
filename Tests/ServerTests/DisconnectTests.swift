import Backends
import Foundation
import Scheduler
import Server
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP client, so a test can walk away from a stream mid-way.
final class RawConnection: @unchecked Sendable {  // Used by one test task at a time.
    private let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(socket >= 0 && status == 0, "connect failed")
    }

    /// Blocking; use `send(_:) async` from tests.
    private func sendBlocking(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Reads until `marker` has arrived (or the connection ends).
    /// Blocking; use `read(until:) async` from tests.
    private func readBlocking(until marker: String) -> String {
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(socket) }

    /// Socket calls block: they run on a Dispatch thread, never on Swift's
    /// cooperative pool, which the server under test needs to answer.
    func send(_ bytes: [UInt8]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.sendBlocking(bytes)
                continuation.resume()
            }
        }
    }

    func read(until marker: String) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.readBlocking(until: marker)) }
        }
    }
}

/// Hands the first batch report to whoever waits for it.
final class ReportBox: Sendable {
    private let state = Mutex((report: BatchReport?.none, waiter: CheckedContinuation<BatchReport, Never>?.none))

    var observer: @Sendable (BatchReport) -> Void {
        { [self] report in
            let waiter = state.withLock { state -> CheckedContinuation<BatchReport, Never>? in
                state.report = report
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: report)
        }
    }

    func next() async -> BatchReport {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> BatchReport? in
                if let report = state.report { return report }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

@Suite("Clients that go away", .timeLimit(.minutes(2)))
struct DisconnectTests {
    @Test func leavingAStreamCancelsTheItemsNotYetRun() async throws {
        let reports = ReportBox()
        let photo = try SyntheticImage.jpeg(width: 2000, height: 1500, seed: 5)
        let items = 12
        try await withServer(configure: { $0.batchObserver = reports.observer }, engine: .init(cpuWorkers: 1, useGPU: false)) { client, engine in
            let port = try #require(client.port)
            var body = MultipartBody()
            for index in 0..<items { body.addFile("files", filename: "big\(index).jpg", photo) }
            let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
            let connection = try RawConnection(port: port)
            await connection.send(Array("""
                POST /process-batch-stream?width=1800&blur=3&format=png HTTP/1.1\r
                Host: 127.0.0.1\r
                Content-Type: multipart/form-data; boundary=\(body.boundary)\r
                Content-Length: \(payload.count)\r
                \r

                """.utf8) + payload)
            let seen = await connection.read(until: "event: result")
            #expect(seen.contains("200 OK") && seen.contains("event: result"))
            connection.close()

            // The batch ends early: the items not yet run are cancelled, not processed.
            let report = await reports.next()
            #expect(report.endpoint == "/process-batch-stream" && report.total == items)
            #expect(report.cancelled > 0 && report.succeeded < items, "\(report)")
            try await client.execute(uri: "/stats", method: .get) { response in
                let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let endpoint = (json?["endpoints"] as? [String: Any])?["/process-batch-stream"] as? [String: Any]
                #expect(endpoint?["cancelled"] as? Int == report.cancelled)
            }
            #expect(await engine.scheduler.statistics().lanes[0].running == 0)
        }
    }
}
