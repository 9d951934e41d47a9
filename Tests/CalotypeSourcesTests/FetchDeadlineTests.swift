import CalotypeCore
import CalotypeSources
import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// Remembers each booking a fetch makes, and may refuse past a limit.
final class RecordingBooking: FetchBooking {
    private let state = NIOLockedValueBox<[Int]>([])
    let refusePast: Int

    init(refusePast: Int = .max) {
        self.refusePast = refusePast
    }

    var steps: [Int] { state.withLockedValue { $0 } }

    func book(atLeast bytes: Int) async throws(SourceError) {
        guard bytes <= refusePast else { throw .overloaded("no room for \(bytes) bytes") }
        state.withLockedValue { $0.append(bytes) }
    }
}

/// The request context of an origin that knows which connection each
/// request came on.
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peer: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.description ?? "?"
    }
}

/// The peers (client connections) an origin has seen.
final class PeerLog: Sendable {
    private let peers = NIOLockedValueBox<[String]>([])
    var all: [String] { peers.withLockedValue { $0 } }
    func saw(_ peer: String) { peers.withLockedValue { $0.append(peer) } }
}

/// An origin that stalls: its head and 2 bytes of a 100,000-byte body,
/// then nothing; one that sends a body without a length in 3 chunks; and
/// a small image, each request's connection logged.
func withStallingOrigin(peers: PeerLog = PeerLog(), _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let router = Router(context: PeerContext.self)
    router.get("stall") { _, _ in stalledResponse() }
    router.get("chunked") { _, _ in
        Response(
            status: .ok,
            body: ResponseBody { writer in
                for _ in 0..<3 { try await writer.write(ByteBuffer(repeating: 7, count: 400_000)) }
                try await writer.finish(nil)
            }
        )
    }
    router.get("photo.jpg") { _, context in
        peers.saw(context.peer)
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0xAB, count: 10_000)))
    }
    try await withLoopbackServer(router, body)
}

@Suite("Sources: every fetch ends by its deadline and books its bytes", .timeLimit(.minutes(2)))
struct FetchDeadlineTests {
    static func fetcher(
        port: Int,
        totalTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(30),
        clients: OriginClients = .shared,
        names: [String: [String]] = [:]
    ) throws -> HTTPSourceFetcher {
        let policy = SourcePolicy(
            allowList: try SourceAllowList("http://origin.test:\(port)/, http://two.test:\(port)/"),
            addressGuard: AddressGuard(allowLoopback: true),
            resolver: TableResolver(table: ["origin.test": ["127.0.0.1"]].merging(names) { $1 })
        )
        return HTTPSourceFetcher(
            policy: policy,
            limits: FetchLimits(maxBytes: 4 << 20, connectTimeout: .seconds(1), totalTimeout: totalTimeout, idleTimeout: idleTimeout),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            clients: clients
        )
    }

    static func url(_ port: Int, _ path: String, host: String = "origin.test") -> URL { URL(string: "http://\(host):\(port)/\(path)")! }

    /// A body that stops is ended by the whole deadline when it is the
    /// shorter, and by the idle timeout well before a long deadline.
    @Test(arguments: [(total: 2, idle: 60), (total: 60, idle: 1)])
    func aBodyThatStallsEndsTheFetchWithATimeout(total: Int, idle: Int) async throws {
        try await withStallingOrigin { port in
            let fetcher = try Self.fetcher(port: port, totalTimeout: .seconds(total), idleTimeout: .seconds(idle))
            let started = ContinuousClock.now
            await #expect(throws: SourceError.timeout(Self.url(port, "stall").absoluteString)) {
                try await fetcher.fetch(Self.url(port, "stall"))
            }
            // Ended by the shorter of the two, not by the test's time limit
            // (loosely: a loaded machine is slow to wake).
            #expect(ContinuousClock.now - started < .seconds(min(total, idle) + 20))
        }
    }

    /// A resolver that never answers and cannot be cancelled (the system's,
    /// stuck in its own timeouts): the fetch still ends by its deadline.
    struct StuckResolver: HostResolver {
        let waiting: AsyncStream<CheckedContinuation<Void, Never>>.Continuation
        func addresses(of host: String) async throws -> [IPAddress] {
            await withCheckedContinuation { waiting.yield($0) }
            return []
        }
    }

    @Test func aLookupThatNeverAnswersEndsByTheDeadline() async throws {
        let stuck = AsyncStream.makeStream(of: CheckedContinuation<Void, Never>.self)
        let policy = SourcePolicy(
            allowList: try SourceAllowList("http://stuck.test/"),
            addressGuard: AddressGuard(),
            resolver: StuckResolver(waiting: stuck.continuation)
        )
        let fetcher = HTTPSourceFetcher(
            policy: policy,
            limits: FetchLimits(totalTimeout: .milliseconds(300)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        )
        await #expect(throws: SourceError.timeout("http://stuck.test/a.jpg")) {
            try await fetcher.fetch(URL(string: "http://stuck.test/a.jpg")!)
        }
        // The lookup is still waiting: let it end.
        for await lookup in stuck.stream {
            lookup.resume()
            break
        }
    }

    @Test func aDeclaredLengthIsBookedWholeBeforeTheBodyAndAnUndeclaredOneInGrowingSteps() async throws {
        try await withStallingOrigin { port in
            let fetcher = try Self.fetcher(port: port)
            let declared = RecordingBooking()
            #expect(try await fetcher.fetch(Self.url(port, "photo.jpg"), booking: declared).bytes.count == 10_000)
            #expect(declared.steps == [10_000])
            let chunked = RecordingBooking()
            #expect(try await fetcher.fetch(Self.url(port, "chunked"), booking: chunked).bytes.count == 1_200_000)
            #expect(chunked.steps == [1 << 20, 2 << 20], "1 MiB, then doubled when the third chunk came")
            let refused = RecordingBooking(refusePast: 1 << 20)
            await #expect(throws: SourceError.overloaded("no room for \(2 << 20) bytes")) {
                try await fetcher.fetch(Self.url(port, "chunked"), booking: refused)
            }
        }
    }

    /// Runs `body` with clients of its own, shut down whatever happens (AHC
    /// traps on a client dropped before its shutdown).
    static func withClients(capacity: Int, _ body: (OriginClients) async throws -> Void) async throws {
        let clients = OriginClients(capacity: capacity)
        do {
            try await body(clients)
        } catch {
            await clients.shutdown()
            throw error
        }
        await clients.shutdown()
    }

    /// Fetches from one origin reuse one connection (before, each fetch
    /// and each redirect made a client and a connection of its own).
    @Test func fetchesFromOneOriginShareAConnection() async throws {
        let peers = PeerLog()
        try await Self.withClients(capacity: 4) { clients in
            try await withStallingOrigin(peers: peers) { port in
                let fetcher = try Self.fetcher(port: port, clients: clients)
                for _ in 0..<5 {
                    #expect(try await fetcher.fetch(Self.url(port, "photo.jpg")).bytes.count == 10_000)
                }
            }
            #expect(clients.clientsMade == 1)
        }
        #expect(peers.all.count == 5)
        #expect(Set(peers.all).count == 1, "one connection for 5 fetches: \(peers.all)")
    }

    /// A name with two checked addresses: the first takes no connection
    /// (nothing listens there), the second answers.
    @Test func everyCheckedAddressIsTriedInTurn() async throws {
        try await Self.withClients(capacity: 4) { clients in
            try await withStallingOrigin { port in
                let fetcher = try Self.fetcher(port: port, clients: clients, names: ["two.test": ["127.0.0.2", "127.0.0.1"]])
                #expect(try await fetcher.fetch(Self.url(port, "photo.jpg", host: "two.test")).bytes.count == 10_000)
            }
            #expect(clients.clientsMade == 2)
        }
    }

    @Test func theLeastRecentlyUsedIdleClientIsShutDownPastCapacity() async throws {
        try await Self.withClients(capacity: 1) { clients in
            try await withStallingOrigin { port in
                let fetcher = try Self.fetcher(port: port, clients: clients, names: ["two.test": ["127.0.0.1"]])
                _ = try await fetcher.fetch(Self.url(port, "photo.jpg"))
                _ = try await fetcher.fetch(Self.url(port, "photo.jpg", host: "two.test"))
                _ = try await fetcher.fetch(Self.url(port, "photo.jpg"))
            }
            #expect(clients.clientsMade == 3, "origin.test's client was dropped for two.test's, then made again")
        }
    }

    /// More fetches from one origin at once than AHC's default of 8
    /// connections a host: none waits for a connection (the 9th once
    /// failed after the connect timeout, as `source_unreachable`).
    @Test func manyFetchesFromOneOriginAtOnceEachGetAConnection() async throws {
        // The origin answers none until all 12 are in: they are in flight at once.
        let barrier = Barrier(count: 12)
        let router = Router()
        router.get("held") { _, _ -> Response in
            await barrier.arrive()
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 1, count: 100)))
        }
        try await Self.withClients(capacity: 4) { clients in
            try await withLoopbackServer(router) { port in
                let fetcher = try Self.fetcher(port: port, clients: clients)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<12 { group.addTask { try await fetcher.fetch(Self.url(port, "held")).bytes.count } }
                    for try await size in group { #expect(size == 100) }
                }
            }
        }
    }
}

/// Holds each arrival until `count` have arrived, then lets them all go.
final class Barrier: Sendable {
    private let state: NIOLockedValueBox<(waiting: [CheckedContinuation<Void, Never>], count: Int)>

    init(count: Int) {
        state = NIOLockedValueBox(([], count))
    }

    func arrive() async {
        await withCheckedContinuation { continuation in
            let released = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.waiting.append(continuation)
                guard state.waiting.count >= state.count else { return [] }
                defer { state.waiting = [] }
                return state.waiting
            }
            for waiter in released { waiter.resume() }
        }
    }
}
