import CalotypeApp
import CalotypeCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Scheduler
@testable import Server

/// What a fetch by reference may cost the server: its time (the whole
/// fetch, body included, ends by its deadline), its memory (booked against
/// the budget while it arrives) and a slot among the fetches in flight.
@Suite("Sources within their limits", .serialized, .timeLimit(.minutes(3)))
struct SourceLimitsTests {
    /// A 2 s fetch deadline, and an idle timeout longer than it, so that
    /// the deadline is what ends a stalled body.
    static let deadline: [String: String] = ["CALOTYPE_SOURCE_TIMEOUT": "2", "CALOTYPE_SOURCE_IDLE_TIMEOUT": "60"]

    @Test func anOriginThatStallsMidBodyGetsA504BeforeTheJobDeadline() async throws {
        try await ImageEndpointTests.withImageServer({ _ in Self.deadline }) { client, port, _ in
            let started = ContinuousClock.now
            let path = ImageEndpointTests.signed("/w:40/" + ImageEndpointTests.plain("http://origin.test:\(port)/stall"))
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .gatewayTimeout)
                #expect(ImageEndpointTests.errorCode(response) == "source_timeout")
            }
            // Before: no answer after 150 s. Loosely bounded: a loaded machine is slow to wake.
            #expect(ContinuousClock.now - started < .seconds(17))
            // The server is still whole.
            let photo = ImageEndpointTests.signed("/w:40/" + ImageEndpointTests.plain(ImageEndpointTests.photo(port)))
            try await client.execute(uri: photo, method: .get) { #expect($0.status == .ok) }
        }
    }

    /// The batch ends (before: `running` for over 9 minutes, holding a
    /// batch slot), the stalled item alone failing.
    @Test func aPostedBatchWithAStalledSourceEnds() async throws {
        try await ImageEndpointTests.withImageServer({ _ in Self.deadline }) { client, port, _ in
            let body = try ReferenceBatchTests.json([
                "sources": ["http://origin.test:\(port)/stall", ImageEndpointTests.photo(port)], "options": "width=30",
            ])
            let created = try await client.execute(uri: "/batches", method: .post, headers: ReferenceBatchTests.jsonHeaders, body: body) {
                response in
                #expect(response.status == .accepted)
                return try decode(APIBatchCreated.self, response.body)
            }
            let events = try await client.execute(uri: created.eventsURL, method: .get) { EventStreamParser.parse(String(buffer: $0.body)).events }
            BatchEndpointTests().checkContract(events, total: 2, failed: 1)
            let status = try await client.execute(uri: created.statusURL, method: .get) { try decode(APIBatchStatus.self, $0.body) }
            #expect(status.status == .completed)
            #expect(status.results.first?.error?.code == .sourceTimeout)
            #expect(status.results.last?.status == .ok)
        }
    }

    /// A source larger than the budget's free room: `GET /img` waits a
    /// second for room, as an upload does, then is refused with 503 and
    /// `Retry-After`; nothing it booked stays counted.
    @Test func aFetchWithNoRoomInTheBudgetIsRefusedAndGivesBackWhatItBooked() async throws {
        try await ImageEndpointTests.withImageServer { client, port, engine in
            let budget = engine.scheduler.memoryBudget
            // All but 1 KiB of the budget held by someone else.
            let other = try #require(await budget.admit(budget.limit - 1024, waitingAtMost: .seconds(1)))
            let path = ImageEndpointTests.signed("/w:40/" + ImageEndpointTests.plain(ImageEndpointTests.photo(port)))
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(ImageEndpointTests.errorCode(response) == "overloaded")
                #expect(response.headers[.retryAfter] == "1")
            }
            #expect(budget.used == other.bytes)
            other.release()
            try await client.execute(uri: path, method: .get) { #expect($0.status == .ok) }
            // Everything comes back once the answer is written (which may be
            // just after the client read it): the whole budget is admitted.
            #expect(await budget.admit(budget.limit, waitingAtMost: .seconds(30)) != nil)
        }
    }

    // MARK: The decisions, without a network

    @Test func aBookingHoldsWhatCameAndGivesEverythingBackOnRelease() async throws {
        let budget = MemoryBudget(limit: 4 << 20)
        let booking = BudgetBooking(budget: budget, source: "s", wait: .milliseconds(10), until: .now + .seconds(60))
        try await booking.book(atLeast: 1 << 20)
        try await booking.book(atLeast: 1 << 20)  // already booked: nothing more
        #expect(budget.used == 1 << 20)
        try await booking.book(atLeast: 2 << 20)
        #expect(budget.used == 2 << 20)
        await #expect(throws: SourceError.self, "past the budget, with other work held") {
            let other = budget.commit(1 << 20)
            defer { other.release() }
            try await booking.book(atLeast: 4 << 20)
        }
        #expect(budget.used == 2 << 20)
        let held = booking.held(1_500_000)
        #expect(budget.used == 1_500_000, "what came, not what was booked")
        held.release()
        #expect(budget.used == 0)
    }

    /// A fetcher whose fetches last until the test lets them end.
    struct HeldFetcher: SourceFetcher {
        let started: AsyncStream<Void>.Continuation
        let release: AsyncStream<Void>
        var timeout: Duration { .seconds(60) }
        func check(_ reference: String) throws(SourceError) {}
        func fetch(
            _ reference: String,
            maxBytes: Int,
            booking: any FetchBooking,
            until deadline: ContinuousClock.Instant
        ) async throws(SourceError)
            -> FetchedImage
        {
            started.yield()
            for await _ in release { break }
            return FetchedImage(bytes: [1])
        }
    }

    @Test func fetchesPastTheSlotsWaitTheirTurnUntilTheirDeadline() async throws {
        let started = AsyncStream.makeStream(of: Void.self)
        let release = AsyncStream.makeStream(of: Void.self)
        let slotted = SlottedSourceFetcher(HeldFetcher(started: started.continuation, release: release.stream), slots: 1)
        let first = Task { try await slotted.fetch("a", maxBytes: 10, booking: UnbookedFetch(), until: .now + .seconds(60)) }
        for await _ in started.stream { break }
        await #expect(throws: SourceError.self, "the only slot is taken until the deadline") {
            try await slotted.fetch("b", maxBytes: 10, booking: UnbookedFetch(), until: .now + .milliseconds(50))
        }
        release.continuation.yield()
        #expect(try await first.value.bytes == [1])
        #expect(SlottedSourceFetcher.defaultSlots(budget: 320 << 20) == 20)
        #expect(SlottedSourceFetcher.defaultSlots(budget: .max) == 64)
        #expect(SlottedSourceFetcher.defaultSlots(budget: 16 << 20) == 4)
    }
}
