import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP client on loopback, for tests that must send raw HTTP or
/// walk away from a response half-way.
public final class TCPConnection: @unchecked Sendable {  // Used by one test task at a time.
    private let socket: Int32
    private var pending: [UInt8] = []

    public init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let status = withLoopbackAddress(port: port) { connect(socket, $0, $1) }
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

    /// Reads until `marker` has arrived (or the connection ends) and returns
    /// everything up to and including it; the rest waits for the next read.
    /// Blocking; use `read(until:) async` from tests.
    private func readBlocking(until marker: String) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let needle = Array(marker.utf8)
        while true {
            if let range = pending.firstRange(of: needle) {
                let text = String(decoding: pending[..<range.upperBound], as: UTF8.self)
                pending.removeSubrange(..<range.upperBound)
                return text
            }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                defer { pending = [] }
                return String(decoding: pending, as: UTF8.self)
            }
            pending += buffer[0..<count]
        }
    }

    public func close() { Glibc.close(socket) }

    /// Socket calls block: they run on a thread of their own, never on
    /// Swift's cooperative pool (which the server under test needs to
    /// answer) nor on Dispatch's global queues, whose threads Swift's
    /// executor shares on Linux: 32 clients blocked in reads there held
    /// every other test's timers in the process for 30 s.
    public func send(_ bytes: [UInt8]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.sendBlocking(bytes)
                continuation.resume()
            }.start()
        }
    }

    public func read(until marker: String) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.readBlocking(until: marker)) }.start()
        }
    }
}

/// `127.0.0.1:port` as the socket calls take it.
func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// The status code of a raw HTTP/1.x answer's first line; 0 when it has none.
public func statusCode(of answer: String) -> Int {
    let parts = answer.split(separator: " ", maxSplits: 2)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { return 0 }
    return Int(parts[1]) ?? 0
}
