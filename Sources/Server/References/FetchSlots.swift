import CalotypeCore
import Scheduler

/// A bound on the fetches by reference in flight on this server at once
/// (`CALOTYPE_MAX_FETCHES`): before, each batch bounded its own fetches but
/// nothing bounded them across batches and `GET /img` requests, and 32
/// clients' batches of 50 MB sources held 2.5 GB at once.
///
/// A fetch waits its turn (first come, first served) until its deadline;
/// past it, it ends with 503 `overloaded`: the server is busy, not the
/// origin. The count is kept by a `MemoryBudget` of one unit a fetch, whose
/// bounded, cancellable first-come wait is exactly a semaphore's.
struct SlottedSourceFetcher: SourceFetcher {
    let fetcher: any SourceFetcher
    let slots: MemoryBudget

    init(_ fetcher: any SourceFetcher, slots: Int) {
        self.fetcher = fetcher
        self.slots = MemoryBudget(limit: max(1, slots))
    }

    /// With no setting: one fetch for every 16 MiB of the memory budget
    /// (20 for the default 320 MiB), at least 4 and at most 64.
    static func defaultSlots(budget: Int) -> Int {
        min(64, max(4, budget / (16 << 20)))
    }

    var timeout: Duration { fetcher.timeout }

    func check(_ reference: String) throws(SourceError) {
        try fetcher.check(reference)
    }

    func fetch(
        _ reference: String,
        maxBytes: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> FetchedImage {
        guard let slot = await slots.admit(1, waitingAtMost: deadline - ContinuousClock.now) else {
            if Task.isCancelled { throw .timeout(reference) }
            throw .overloaded("every fetch slot (CALOTYPE_MAX_FETCHES = \(slots.limit)) stayed busy until \(reference)'s deadline; retry later")
        }
        defer { slot.release() }
        return try await fetcher.fetch(reference, maxBytes: maxBytes, booking: booking, until: deadline)
    }
}

extension ServerConfiguration {
    /// Puts `sources` behind the fetch slots (`maxConcurrentFetches`, or one
    /// per 16 MiB of `budget`), once: the server does it when it is made,
    /// and a cluster node's composition does it first, so that the items a
    /// node claims share the slots with its own requests.
    public mutating func boundFetches(budget: Int) {
        guard let sources, !(sources is SlottedSourceFetcher) else { return }
        self.sources = SlottedSourceFetcher(sources, slots: maxConcurrentFetches ?? SlottedSourceFetcher.defaultSlots(budget: budget))
    }
}
