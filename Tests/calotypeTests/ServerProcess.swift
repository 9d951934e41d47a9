import Foundation
import NIOConcurrencyHelpers
import Testing

/// `calotype serve` as a child process.
enum ServerProcess {
    /// Starts the server on a free port (`extra` over this process's
    /// environment) and returns it with the port it announced. Its log
    /// (standard error) goes to `log`, or nowhere.
    static func start(in folder: URL, environment extra: [String: String] = [:], log: URL? = nil) async throws -> (Process, Int) {
        let process = Process()
        process.executableURL = try CLI.binary
        process.arguments = ["serve", "--port", "0"]
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        // A job deadline no loaded machine reaches, unless the test sets one.
        environment["CALOTYPE_JOB_TIMEOUT"] = "600"
        environment.merge(extra) { $1 }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        if let log {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        let announced = NIOLockedValueBox((text: "", resume: CheckedContinuation<Int, Never>?.none))
        let port: Int = await withCheckedContinuation { continuation in
            announced.withLockedValue { $0.resume = continuation }
            output.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                let chunk = String(decoding: data, as: UTF8.self)
                let found = announced.withLockedValue { state -> (CheckedContinuation<Int, Never>, Int)? in
                    state.text += chunk
                    guard let resume = state.resume else { return nil }
                    // End of file: it exited without listening.
                    if data.isEmpty {
                        state.resume = nil
                        return (resume, 0)
                    }
                    guard let match = state.text.firstMatch(of: /listening on http:\/\/[0-9.]+:([0-9]+)/), let port = Int(match.output.1) else {
                        return nil
                    }
                    state.resume = nil
                    return (resume, port)
                }
                if let (resume, port) = found { resume.resume(returning: port) }
            }
            do {
                try process.run()
            } catch {
                let resume = announced.withLockedValue { state -> CheckedContinuation<Int, Never>? in
                    defer { state.resume = nil }
                    return state.resume
                }
                resume?.resume(returning: 0)
            }
        }
        output.fileHandleForReading.readabilityHandler = nil
        try #require(port > 0, "the server did not start\(log.map { ": " + ((try? String(contentsOf: $0, encoding: .utf8)) ?? "") } ?? "")")
        return (process, port)
    }
}
