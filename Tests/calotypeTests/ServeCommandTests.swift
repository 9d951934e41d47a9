import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `calotype serve` as a process: started, used, and stopped with SIGTERM.
@Suite("calotype serve", .timeLimit(.minutes(2)))
struct ServeCommandTests {
    /// Starts the server on a free port and returns it with the port it announced.
    func startServer(in folder: URL, environment extra: [String: String] = [:]) async throws -> (Process, Int) {
        var environment = ["CALOTYPE_GPU": "off"]
        environment.merge(extra) { $1 }
        return try await ServerProcess.start(in: folder, environment: environment)
    }

    @Test func sigtermLetsAStreamRunToItsCompleteEventThenExits() async throws {
        let (process, port) = try await startServer(in: try scratchFolder())
        let (boundary, payload) = try await Self.sixPhotos()
        let connection = try TCPConnection(port: port)
        await connection.send(
            Array(
                "POST /process-batch-stream?width=1200&blur=2&format=png HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                    .utf8
            ) + payload
        )
        let beginning = await connection.read(until: "event: result")
        #expect(beginning.contains("event: result"))

        kill(process.processIdentifier, SIGTERM)
        let rest = await connection.read(until: "event: complete\ndata: ")
        let end = await connection.read(until: "}\n\n")
        let tail = rest + end
        connection.close()
        let stream = beginning + tail
        #expect(stream.contains("event: complete"))
        #expect(stream.components(separatedBy: "event: result").count - 1 == 6, "every item ran to its result")
        #expect(stream.contains("\"succeeded\":6"))

        #expect(await Self.exitStatus(of: process) == 0)
    }

    /// How `process` exits, whether it already has or not.
    static func exitStatus(of process: Process) async -> Int32 {
        let resumed = NIOLockedValueBox(false)
        return await withCheckedContinuation { continuation in
            // Set first, then checked: an exit between the two is seen by one of them, resumed once.
            let resumeOnce = { @Sendable (status: Int32) in
                if resumed.withLockedValue({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume(returning: status)
                }
            }
            process.terminationHandler = { resumeOnce($0.terminationStatus) }
            if !process.isRunning { resumeOnce(process.terminationStatus) }
        }
    }

    /// Six 2-megapixel photos as a multipart body.
    static func sixPhotos() async throws -> (boundary: String, payload: [UInt8]) {
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 9) }
        let boundary = "calotype-\(UUID().uuidString)"
        var payload: [UInt8] = []
        for index in 0..<6 {
            payload += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"p\(index).jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8
            )
            payload += photo + Array("\r\n".utf8)
        }
        payload += Array("--\(boundary)--\r\n".utf8)
        return (boundary, payload)
    }

    @Test func sigtermLetsAPostedBatchFinishThenExits() async throws {
        let folder = try scratchFolder()
        let results = folder.appendingPathComponent("results")
        let (process, port) = try await startServer(in: folder, environment: ["CALOTYPE_RESULTS_DIR": results.path])
        let (boundary, payload) = try await Self.sixPhotos()
        let connection = try TCPConnection(port: port)
        await connection.send(
            Array(
                "POST /batches?width=1200&blur=2&format=png HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(payload.count)\r\n\r\n"
                    .utf8
            ) + payload
        )
        let answer = await connection.read(until: "\"total\":6}")
        connection.close()
        #expect(answer.contains("202 Accepted"))

        // Nobody listens to the batch; SIGTERM still lets it run to its end.
        kill(process.processIdentifier, SIGTERM)
        #expect(await Self.exitStatus(of: process) == 0)
        let stored = try FileManager.default.contentsOfDirectory(atPath: results.path)
        #expect(stored.count == 6, "every item's result was stored before the server exited: \(stored)")
    }
}
