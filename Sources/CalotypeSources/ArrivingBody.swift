import AsyncHTTPClient
import CalotypeCore

/// An answer's body read into memory under a `FetchBooking`, for every
/// reader of sources over HTTP (origins, S3).
public enum ArrivingBody {
    /// The body, booked before it is kept: the declared length at once when
    /// there is one (refused past `cap` before a byte is read), otherwise a
    /// step each time the buffer must grow (1 MiB, then doubling, at most
    /// `cap`), so that the buffer never holds more than was booked.
    public static func read(_ response: HTTPClientResponse, source: String, cap: Int, booking: any FetchBooking) async throws(SourceError) -> [UInt8]
    {
        var booked = 0
        var bytes: [UInt8] = []
        if let text = response.headers.first(name: "Content-Length") {
            // Digits only (no sign), at most `cap`: refused before anything is reserved.
            guard let declared = Int(text), declared >= 0, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .unreachable("\(source) sent a Content-Length that is not a length: '\(text.prefix(40))'")
            }
            guard declared <= cap else { throw .tooLarge(source, limit: cap) }
            try await booking.book(atLeast: declared)
            booked = declared
            bytes.reserveCapacity(declared)
        }
        do {
            for try await chunk in response.body {
                // Both at most `cap` and a chunk's size: no overflow.
                let needed = bytes.count + chunk.readableBytes
                guard needed <= cap else { throw SourceError.tooLarge(source, limit: cap) }
                if needed > booked {
                    let doubled = booked > cap / 2 ? cap : max(booked * 2, 1 << 20)
                    let step = min(cap, max(needed, doubled))
                    try await booking.book(atLeast: step)
                    booked = step
                    bytes.reserveCapacity(step)
                }
                // One copy of the chunk's memory (its view's iterator costs
                // a call a byte where NIO is not optimised).
                chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
            }
        } catch let error as SourceError {
            throw error
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            throw .timeout(source)
        } catch is CancellationError {
            throw .timeout(source)
        } catch {
            throw .unreachable("\(source) could not be read: \(error)")
        }
        return bytes
    }
}
