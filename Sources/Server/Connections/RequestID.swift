import Foundation
import HTTPTypes

extension HTTPField.Name {
    static let requestID = Self(RequestID.headerName)!
}

/// Each request's id: the client's `X-Request-ID` when it is a sensible
/// one (what a proxy in front set, so that its logs and ours join up), a
/// new one otherwise. It is sent back in the answer's `X-Request-ID` and is
/// the `request_id` of every log line the request writes.
enum RequestID {
    static let headerName = "X-Request-ID"
    /// Longest accepted id; longer ones are replaced (a log is no place for a kilobyte from outside).
    static let maxLength = 128

    /// The id to use for a request that carried `header`.
    static func forRequest(carrying header: String?) -> String {
        if let header, isAcceptable(header) { return header }
        return generate()
    }

    /// Visible ASCII without spaces, quotes or backslashes, 1...128 characters:
    /// safe in a header, a log line and a JSON string as it is.
    static func isAcceptable(_ id: String) -> Bool {
        (1...maxLength).contains(id.utf8.count)
            && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// 16 random bytes as 32 hex digits.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
