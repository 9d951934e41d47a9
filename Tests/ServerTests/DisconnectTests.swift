import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Scheduler
import Server
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hands the first batch report to whoever waits for it.
final class ReportBox: Sendable {
    private let state = NIOLockedValueBox((report: BatchReport?.none, waiter: CheckedContinuation<BatchReport, Never>?.none))

    var observer: @Sendable (BatchReport) -> Void {
        { [self] report in
            let waiter = state.withLockedValue { state -> CheckedContinuation<BatchReport, Never>? in
                state.report = report
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: report)
        }
    }

    func next() async -> BatchReport {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> BatchReport? in
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
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 2000, height: 1500, seed: 5) }
        let items = 12
        try await withServer(
            configure: { $0.batchObserver = reports.observer },
            engine: .init(cpuWorkers: 1, scheduler: .init(jobTimeout: .seconds(600)), useGPU: false)
        ) { client, engine in
            let port = try #require(client.port)
            var body = MultipartBody()
            for index in 0..<items { body.addFile("files", filename: "big\(index).jpg", photo) }
            let payload = body.bytes + Array("--\(body.boundary)--\r\n".utf8)
            let connection = try TCPConnection(port: port)
            await connection.send(
                Array(
                    """
                    POST /process-batch-stream?width=1800&blur=3&format=png HTTP/1.1\r
                    Host: 127.0.0.1\r
                    Content-Type: multipart/form-data; boundary=\(body.boundary)\r
                    Content-Length: \(payload.count)\r
                    \r

                    """.utf8
                ) + payload
            )
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
