import CalotypeCluster
import CalotypeCore
import Testing

@testable import CalotypeApp

/// Which of an item's failures a cluster node retries: the decision alone
/// (the retries themselves run on PostgreSQL in CalotypeClusterTests).
@Suite("Cluster: what is retried")
struct ClusterDecisionTests {
    static func item(_ code: APIErrorCode?) -> APIBatchItem {
        APIBatchItem(
            batchID: "b",
            index: 0,
            filename: "x",
            status: code == nil ? .ok : .error,
            error: code.map { APIErrorDetail(code: $0, message: "") }
        )
    }

    static func isRetry(_ ending: ClusterWorker.Finished.Ending, in pool: WorkQueue.Pool?) -> Bool {
        if case .retry(let retryPool) = ending { return retryPool == pool }
        return false
    }

    static func isFinal(_ ending: ClusterWorker.Finished.Ending, _ expected: WorkQueue.Ending) -> Bool {
        if case .ended(let ending) = ending { return ending == expected }
        return false
    }

    @Test func inputFaultsAreFinalAndNodeFaultsRetried() {
        #expect(Self.isFinal(ClusterNodeService.ending(of: Self.item(nil), staged: true), .succeeded))
        for code: APIErrorCode in [.corruptImage, .unsupportedFormat, .imageTooLarge, .invalidForImage, .deadlineExceeded, .sourceNotFound] {
            #expect(Self.isFinal(ClusterNodeService.ending(of: Self.item(code), staged: true), .failed), "\(code) is the input's")
        }
        #expect(Self.isRetry(ClusterNodeService.ending(of: Self.item(.backendFault), staged: true), in: .cpu), "a device fault goes to the CPU pool")
        for code: APIErrorCode in [.overloaded, .shuttingDown, .clusterUnavailable] {
            #expect(Self.isRetry(ClusterNodeService.ending(of: Self.item(code), staged: false), in: nil), "\(code) is the node's")
        }
        // A staged upload S3 did not give is the node's fault; an origin that did not answer is the source's.
        #expect(Self.isRetry(ClusterNodeService.ending(of: Self.item(.sourceUnreachable), staged: true), in: nil))
        #expect(Self.isFinal(ClusterNodeService.ending(of: Self.item(.sourceUnreachable), staged: false), .failed))
    }
}
