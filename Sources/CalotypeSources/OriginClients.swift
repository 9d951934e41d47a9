import AsyncHTTPClient
import CalotypeCore
import NIOConcurrencyHelpers
import NIOCore

/// HTTP clients for origins, kept between fetches so that their
/// connections are reused: before, every fetch and every redirect hop built
/// a client of its own and shut it down, so each source paid a TCP (and TLS)
/// handshake and a client's set-up.
///
/// A client is made for one host name pinned to one checked address
/// (`dnsOverride`): every connection it opens goes to that address, never to
/// a second lookup of the name, and TLS still verifies the name. A fetch
/// uses the client of the address its own check returned, so a name whose
/// answer changes gets a new client (and new connections) for the new
/// address, checked first.
///
/// At most `capacity` clients are kept; past it the least recently used
/// client that no fetch is using is shut down (its idle connections with
/// it). One instance serves the process (`shared`), like `HTTPClient.shared`:
/// it is never shut down as a whole, and AHC closes connections idle for a
/// minute on its own.
public final class OriginClients: Sendable {
    public static let shared = OriginClients(capacity: 64)

    /// One client's identity: the name, the address it is pinned to, and
    /// the settings it was made with.
    struct Key: Hashable {
        var host: String
        var address: IPAddress?
        var connectTimeout: Int64
        var idleTimeout: Int64
        var connections: Int
        var group: ObjectIdentifier
    }

    private struct Entry {
        var client: HTTPClient
        var users = 0
        var lastUse: UInt64 = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
        var made = 0
    }

    public let capacity: Int
    private let state = NIOLockedValueBox(State())

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// How many clients were made so far (each one a pool of connections).
    public var clientsMade: Int { state.withLockedValue { $0.made } }

    /// Runs `body` with the client for `host` pinned to `address`, made
    /// on first use.
    func withClient<T: Sendable>(
        host: String,
        address: IPAddress?,
        limits: FetchLimits,
        group: any EventLoopGroup,
        _ body: (HTTPClient) async throws(SourceError) -> T
    ) async throws(SourceError) -> T {
        let key = Key(
            host: host,
            address: address,
            connectTimeout: limits.connectTimeout.nanoseconds,
            idleTimeout: limits.idleTimeout.nanoseconds,
            connections: max(1, limits.maxConnectionsPerOrigin),
            group: ObjectIdentifier(group as AnyObject)
        )
        let client = state.withLockedValue { state -> HTTPClient in
            state.clock += 1
            if var entry = state.entries[key] {
                entry.users += 1
                entry.lastUse = state.clock
                state.entries[key] = entry
                return entry.client
            }
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
            configuration.timeout.connect = .nanoseconds(key.connectTimeout)
            // Between two reads of the answer, head or body: an origin that
            // stops sending is given up on after this, before the fetch's
            // whole deadline.
            configuration.timeout.read = .nanoseconds(key.idleTimeout)
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: key.connections)
            if let address { configuration.dnsOverride = [host: address.description] }
            let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
            state.entries[key] = Entry(client: client, users: 1, lastUse: state.clock)
            state.made += 1
            return client
        }
        defer { release(key) }
        return try await body(client)
    }

    /// Shuts every client down, for an instance that is not `shared` (a
    /// test's): AHC requires it before a client is dropped.
    public func shutdown() async {
        let clients = state.withLockedValue { state in
            defer { state.entries = [:] }
            return state.entries.values.map(\.client)
        }
        for client in clients { try? await client.shutdown() }
    }

    private func release(_ key: Key) {
        let evicted = state.withLockedValue { state -> [HTTPClient] in
            state.clock += 1
            state.entries[key]?.users -= 1
            state.entries[key]?.lastUse = state.clock
            var evicted: [HTTPClient] = []
            while state.entries.count > capacity,
                let oldest = state.entries.filter({ $0.value.users == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                evicted.append(oldest.value.client)
                state.entries[oldest.key] = nil
            }
            return evicted
        }
        for client in evicted {
            // Nothing uses it: its shutdown only closes idle connections.
            Task { try? await client.shutdown() }
        }
    }
}
