import CalotypeCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
    /// The whole fetch, redirects included.
    public var totalTimeout: Duration
    public var maxRedirects: Int

    public init(maxBytes: Int = 64 << 20, connectTimeout: Duration = .seconds(3), totalTimeout: Duration = .seconds(10), maxRedirects: Int = 3) {
        self.maxBytes = maxBytes
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxRedirects = maxRedirects
    }
}

/// Fetches http(s) sources under a `SourcePolicy`: every hop (the URL and
/// each redirect's target) is checked before it is connected to, and the
/// connection goes to the addresses that were checked (the name is not
/// looked up a second time, so it cannot answer differently in between).
/// The content type is not trusted: the engine reads the format from the
/// bytes.
public struct HTTPSourceFetcher: Sendable {
    public let policy: SourcePolicy
    public let limits: FetchLimits
    private let eventLoopGroup: any EventLoopGroup

    public init(policy: SourcePolicy, limits: FetchLimits = FetchLimits(), eventLoopGroup: any EventLoopGroup) {
        self.policy = policy
        self.limits = limits
        self.eventLoopGroup = eventLoopGroup
    }

    /// Fetches `url`, refusing more than `maxBytes` (at most the limits' own).
    public func fetch(_ url: URL, maxBytes: Int? = nil) async throws(SourceError) -> FetchedSource {
        let cap = min(maxBytes ?? limits.maxBytes, limits.maxBytes)
        let deadline = ContinuousClock.now + limits.totalTimeout
        var current = url
        for _ in 0...limits.maxRedirects {
            let addresses = try await policy.check(.http(current))
            switch try await request(current, pinnedTo: addresses.first, cap: cap, until: deadline) {
            case .fetched(let source):
                return source
            case .redirect(let location):
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

    private enum Answer {
        case fetched(FetchedSource)
        case redirect(String)
    }

    /// One hop, on a client of its own whose only name is pinned to the
    /// checked address.
    private func request(_ url: URL, pinnedTo address: IPAddress?, cap: Int, until deadline: ContinuousClock.Instant) async throws(SourceError) -> Answer {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = .nanoseconds(limits.connectTimeout.nanoseconds)
        if let host = url.host, let address {
            configuration.dnsOverride = [host: address.description]
        }
        let client = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
        let answer: Result<Answer, SourceError>
        do {
            answer = .success(try await exchange(url, on: client, cap: cap, until: deadline))
        } catch {
            answer = .failure(error)
        }
        try? await client.shutdown()
        return try answer.get()
    }

    private func exchange(_ url: URL, on client: HTTPClient, cap: Int, until deadline: ContinuousClock.Instant) async throws(SourceError) -> Answer {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "Accept", value: "image/*")
        request.headers.add(name: "User-Agent", value: "calotype")
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw .timeout(url.absoluteString) }
        do {
            let response = try await client.execute(request, deadline: NIODeadline.now() + .nanoseconds(remaining.nanoseconds))
            switch response.status.code {
            case 200..<300:
                break
            case 301, 302, 303, 307, 308:
                guard let location = response.headers.first(name: "Location") else {
                    throw SourceError.unreachable("\(url) redirected without a Location")
                }
                return .redirect(location)
            case 404, 410:
                throw SourceError.notFound(url.absoluteString)
            default:
                throw SourceError.unreachable("\(url) answered \(response.status.code)")
            }
            if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > cap {
                throw SourceError.tooLarge(url.absoluteString, limit: cap)
            }
            var bytes: [UInt8] = []
            for try await chunk in response.body {
                guard bytes.count + chunk.readableBytes <= cap else {
                    throw SourceError.tooLarge(url.absoluteString, limit: cap)
                }
                bytes += chunk.readableBytesView
            }
            return .fetched(FetchedSource(
                bytes: bytes, url: url, eTag: response.headers.first(name: "ETag"), lastModified: response.headers.first(name: "Last-Modified")))
        } catch let error as SourceError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout(url.absoluteString)
        } catch {
            throw .unreachable("\(url) could not be fetched: \(error)")
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
