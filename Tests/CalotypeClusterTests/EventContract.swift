import CalotypeCluster
import CalotypeCore
import Foundation
import Testing

/// The single-node event contract, checked on a cluster batch's log: ids
/// 1...n without a gap; a `queued` for every item first; exactly one
/// `result` or `error` per item, followed by its `done`; one `complete`,
/// last, with the batch's counts.
func expectEventContract(
    _ events: [BatchEventLog.Event],
    total: Int,
    succeeded: Int,
    failed: Int = 0,
    cancelled: Int = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(events.map(\.id) == Array(1...max(1, events.count)), "ids 1...n", sourceLocation: sourceLocation)
    let decoded = try events.map { try #require(try APIBatchEvent(name: $0.name, data: $0.data), sourceLocation: sourceLocation) }
    var ends: [Int: Int] = [:]
    for event in decoded {
        switch event {
        case .result(let item): ends[item.index, default: 0] += 1
        case .error(let error): ends[error.index, default: 0] += 1
        case .progress, .complete: break
        }
    }
    #expect(ends.count == total && ends.values.allSatisfy { $0 == 1 }, "one result or error per item", sourceLocation: sourceLocation)
    let queued = decoded.prefix(total).allSatisfy { if case .progress(let p) = $0 { p.stage == .queued } else { false } }
    #expect(queued, "every item's queued first", sourceLocation: sourceLocation)
    guard case .complete(let summary) = decoded.last else {
        Issue.record("complete is not last", sourceLocation: sourceLocation)
        return
    }
    let completes = decoded.count { event in
        if case .complete = event { return true }
        return false
    }
    #expect(completes == 1, "one complete", sourceLocation: sourceLocation)
    let counts: [Int] = [summary.total, summary.succeeded, summary.failed, summary.cancelled]
    let expected: [Int] = [total, succeeded, failed, cancelled]
    #expect(counts == expected, "the counts", sourceLocation: sourceLocation)
}
