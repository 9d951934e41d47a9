/// Room for a source's bytes, booked while they arrive.
///
/// A fetch does not know its size until the origin answers, and without
/// a `Content-Length` not until the last byte: 32 clients fetching 50 MB
/// sources through `GET /img` once held 2.2 GB against a 320 MiB budget,
/// because the room was counted only after the bytes had all arrived. A
/// reader books before it keeps: the declared length when there is one,
/// otherwise each time its buffer grows, so that what is held never
/// passes what was booked. The server books against its memory budget;
/// what was booked is given back when the fetch fails or its image is done.
public protocol FetchBooking: Sendable {
    /// Makes sure `bytes` in all are booked for this fetch (booking only
    /// what is missing); throws `SourceError.overloaded` when no room came
    /// in time, `SourceError.timeout` past the fetch's deadline.
    func book(atLeast bytes: Int) async throws(SourceError)
}

/// Books nothing: for callers with no budget (the CLI, tests).
public struct UnbookedFetch: FetchBooking {
    public init() {}
    public func book(atLeast bytes: Int) async throws(SourceError) {}
}
