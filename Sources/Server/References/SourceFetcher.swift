import CalotypeCore

/// Where images by reference come from, as the server knows it: `GET /img`
/// and batches by reference name a source (`https://...`, `s3://bucket/key`,
/// `local:///path`) and ask for its bytes. The composition root gives the
/// implementation (the allow-list, the address guard, the HTTP, S3 and
/// local readers); the server never imports it. With none, nothing is
/// fetched by reference.
public protocol SourceFetcher: Sendable {
    /// Whether `reference` is a source this server would fetch: its syntax
    /// and the allow-list, without the network (so that a batch of 10,000
    /// sources is refused before any of it runs when one is not allowed).
    func check(_ reference: String) throws(SourceError)

    /// How long one fetch may take in all: the wait for a fetch slot, the
    /// origin's head, redirects and the whole body (`CALOTYPE_SOURCE_TIMEOUT`).
    var timeout: Duration { get }

    /// The source's bytes, refused past `maxBytes` and booked with
    /// `booking` while they arrive, or `SourceError.timeout` at `deadline`
    /// whatever the origin is doing.
    func fetch(
        _ reference: String,
        maxBytes: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> FetchedImage
}

/// A source's bytes, with what its origin said about them.
public struct FetchedImage: Sendable {
    public var bytes: [UInt8]
    /// The origin's `Last-Modified` (an HTTP date), passed on to caches.
    public var lastModified: String?

    public init(bytes: [UInt8], lastModified: String? = nil) {
        self.bytes = bytes
        self.lastModified = lastModified
    }
}
