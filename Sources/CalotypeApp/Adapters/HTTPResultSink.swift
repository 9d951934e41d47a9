import AsyncHTTPClient
import CalotypeCore
import Foundation
import NIOCore
import Server

/// Stores results by POSTing them to an HTTP endpoint (`CALOTYPE_SAVE_URL`),
/// retrying with exponential backoff: a flaky receiver costs time, not results.
public struct HTTPResultSink: ResultSink {
    let url: URL
    /// Attempts in all, the first included.
    let attempts: Int
    /// The wait before the second attempt; it doubles for each one after.
    let backoff: Duration
    let timeout: Duration

    public init(url: URL, attempts: Int = 4, backoff: Duration = .milliseconds(250), timeout: Duration = .seconds(30)) {
        self.url = url
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
    }

    struct Failure: Error, CustomStringConvertible {
        let attempts: Int
        let last: String
        var description: String { "POST failed \(attempts) times; last: \(last)" }
    }

    /// Sends the bytes with their media type and sanitised file name
    /// (`X-Calotype-Filename`); the receiver's `Location`, if any, is where
    /// the result went.
    public func save(_ bytes: [UInt8], item: SavedItem, format: OutputFormat) async throws -> String {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: format.mediaType)
        request.headers.add(name: "X-Calotype-Filename", value: "\(item.stem).\(format.fileExtension)")
        request.body = .bytes(ByteBuffer(bytes: bytes))
        var last = "not tried"
        var wait = backoff
        for attempt in 1...attempts {
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
                if (200..<300).contains(response.status.code) {
                    return response.headers.first(name: "Location") ?? url.absoluteString
                }
                last = "HTTP \(response.status.code)"
            } catch {
                last = "\(error)"
            }
            if attempt < attempts {
                try await Task.sleep(for: wait)
                wait *= 2
            }
        }
        throw Failure(attempts: attempts, last: last)
    }
}
