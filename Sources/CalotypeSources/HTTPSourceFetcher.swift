import AsyncHTTPClient
import CalotypeCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An image fetched by reference, with what the origin said about it.
public struct FetchedSource: Sendable {
    public var bytes: [UInt8]
    /// The URL the bytes came from, after redirects.
    public var url: URL
    public var eTag: String?
    public var lastModified: String?
}

/// What one fetch may cost.
public struct FetchLimits: Sendable {
    /// Largest body accepted, refused from Content-Length or while it arrives.
    public var maxBytes: Int
    public var connectTimeout: Duration
    /// The whole fetch: lookups, redirects, the answer's head and its body.
    public var totalTimeout: Duration
    /// The longest silence between two reads of an answer (head or body):
    /// an origin that sends its head and 2 bytes, then nothing, is given up
    /// on after this, well before the whole deadline.
    public var idleTimeout: Duration
    public var maxRedirects: Int
    /// Connections open to one origin at once: at least the fetches the
    /// server lets run at once (`CALOTYPE_MAX_FETCHES`, at most 64 by
    /// default), so that no fetch queues for a connection (AHC's own
    /// default of 8 failed the 9th of 32 fetches from one origin).
    public var maxConnectionsPerOrigin: Int

    public init(
        maxBytes: Int = 64 << 20,
        connectTimeout: Duration = .seconds(3),
        totalTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(5),
        maxRedirects: Int = 3,
        maxConnectionsPerOrigin: Int = 64
    ) {
        self.maxBytes = maxBytes
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.idleTimeout = idleTimeout
        self.maxRedirects = maxRedirects
        self.maxConnectionsPerOrigin = maxConnectionsPerOrigin
    }
}

/// Fetches http(s) sources under a `SourcePolicy`: every hop (the URL and
/// each redirect's target) is checked before it is connected to, and the
/// connection goes to the addresses that were checked (the name is not
/// looked up a second time, so it cannot answer differently in between),
/// each in turn until one answers. Connections are reused between fetches
/// (`OriginClients`). The content type is not trusted: the engine reads the
/// format from the bytes.
///
/// A fetch ends by its deadline whatever the origin does: the head, every
/// redirect and the whole body are read under it (an origin that stalled
/// mid-body once held a request for good and a batch for 9 minutes), and
/// its bytes are booked (`FetchBooking`) before they are kept.
public struct HTTPSourceFetcher: Sendable {
    public let policy: SourcePolicy
    public let limits: FetchLimits
    private let eventLoopGroup: any EventLoopGroup
    private let clients: OriginClients

    public init(policy: SourcePolicy, limits: FetchLimits = FetchLimits(), eventLoopGroup: any EventLoopGroup, clients: OriginClients = .shared) {
        self.policy = policy
        self.limits = limits
        self.eventLoopGroup = eventLoopGroup
        self.clients = clients
    }

    /// Fetches `url`, refusing more than `maxBytes` (at most the limits'
    /// own), booking its bytes with `booking` as they arrive, and ending by
    /// `deadline` (by default the limits' whole timeout from now).
    public func fetch(
        _ url: URL,
        maxBytes: Int? = nil,
        booking: any FetchBooking = UnbookedFetch(),
        until deadline: ContinuousClock.Instant? = nil
    ) async throws(SourceError) -> FetchedSource {
        let cap = min(maxBytes ?? limits.maxBytes, limits.maxBytes)
        let deadline = deadline ?? ContinuousClock.now + limits.totalTimeout
        return try await FetchDeadline.run(until: deadline, source: url.absoluteString) { () throws(SourceError) in
            try await follow(url, cap: cap, booking: booking, until: deadline)
        }
    }

    private func follow(
        _ url: URL,
        cap: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> FetchedSource {
        var current = url
        for _ in 0...limits.maxRedirects {
            let addresses = try await policy.check(.http(current))
            switch try await request(current, addresses: addresses, cap: cap, booking: booking, until: deadline) {
            case .fetched(let source):
                return source
            case .redirect(let location):
                // Its raw form first: resolving it could hide a `..` it carries.
                try SourceReference.checkRedirectTarget(location)
                guard let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                    throw .unreachable("\(current) redirected to '\(location)', which is not a URL")
                }
                guard let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                    throw .notAllowed("\(current) redirected to \(next), which is not an http(s) URL")
                }
                current = next
            }
        }
        throw .unreachable("\(url) redirected more than \(limits.maxRedirects) times")
    }

    private enum Answer: Sendable {
        case fetched(FetchedSource)
        case redirect(String)
    }

    /// One hop: each checked address in turn until one is connected to (a
    /// GET may be sent again); the origin's own answers and the deadline end
    /// it at once.
    private func request(
        _ url: URL,
        addresses: [IPAddress],
        cap: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> Answer {
        let host = url.host ?? ""
        // The policy refuses a name with no address; never let AHC look one up unchecked.
        guard !addresses.isEmpty else { throw .notAllowed("\(url) has no checked address to connect to") }
        var failure = SourceError.unreachable("\(url) has no address to connect to")
        for address in addresses {
            let hop = try await clients.withClient(
                host: host,
                address: address,
                limits: limits,
                group: eventLoopGroup
            ) { client throws(SourceError) in
                try await exchange(url, on: client, cap: cap, booking: booking, until: deadline)
            }
            switch hop {
            case .answered(let answer): return answer
            case .notConnected(let why): failure = why
            }
        }
        throw failure
    }

    /// How one address did: it answered, or no connection was made (the
    /// next address is tried).
    private enum Hop: Sendable {
        case answered(Answer)
        case notConnected(SourceError)
    }

    private func exchange(
        _ url: URL,
        on client: HTTPClient,
        cap: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> Hop {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "image/*")
        request.headers.add(name: "User-Agent", value: "calotype")
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw .timeout(url.absoluteString) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: NIODeadline.now() + .nanoseconds(remaining.nanoseconds))
        } catch {
            if Self.isConnectionFailure(error) { return .notConnected(Self.failure(error, url)) }
            throw Self.failure(error, url)
        }
        switch response.status.code {
        case 200..<300:
            break
        case 301, 302, 303, 307, 308:
            guard let location = response.headers.first(name: "Location") else {
                throw .unreachable("\(url) redirected without a Location")
            }
            return .answered(.redirect(location))
        case 404, 410:
            throw .notFound(url.absoluteString)
        default:
            throw .unreachable("\(url) answered \(response.status.code)")
        }
        let bytes = try await ArrivingBody.read(response, source: url.absoluteString, cap: cap, booking: booking)
        return .answered(
            .fetched(
                FetchedSource(
                    bytes: bytes,
                    url: url,
                    eTag: response.headers.first(name: "ETag"),
                    lastModified: response.headers.first(name: "Last-Modified")
                )
            )
        )
    }

    /// No connection could be made to the address (refused, unreachable,
    /// timed out connecting): nothing was sent, another address may answer.
    private static func isConnectionFailure(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError { return error == .connectTimeout }
        if case .connectTimeout = error as? ChannelError { return true }
        return error is NIOConnectionError || error is IOError
    }

    private static func failure(_ error: any Error, _ url: URL) -> SourceError {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .timeout(url.absoluteString)
        }
        if let error = error as? HTTPClientError, error == .getConnectionFromPoolTimeout {
            return .overloaded("every connection to \(url.host ?? "the origin") stayed busy (CALOTYPE_MAX_FETCHES); retry later")
        }
        if error is CancellationError { return .timeout(url.absoluteString) }
        return .unreachable("\(url) could not be fetched: \(error)")
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (a duration given from outside may be
    /// any size; the product must not trap).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, carry) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return carry ? (product < 0 ? .min : .max) : sum
    }
}
