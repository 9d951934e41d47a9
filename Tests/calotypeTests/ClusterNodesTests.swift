import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Cluster mode as it is run: `calotype serve` nodes as separate processes
/// sharing a real PostgreSQL and a real S3 bucket, driven over HTTP.
@Suite("Cluster mode: nodes as processes", .serialized, .timeLimit(.minutes(5)))
struct ClusterNodesTests {
    static func photos(_ count: Int, width: Int = 96, height: Int = 64) async throws -> [[UInt8]] {
        let photo = try await NIOThreadPool.singleton.runIfActive { try SyntheticImage.jpeg(width: width, height: height, seed: 3) }
        return Array(repeating: photo, count: count)
    }

    static func stop(_ nodes: [NodeProcess]) async {
        for node in nodes where node.process.isRunning { node.kill(SIGKILL) }
        for node in nodes { _ = await ServeCommandTests.exitStatus(of: node.process) }
    }

    /// 200 items posted to one node, run by all three, followed on a second
    /// node and resumed on the third: exactly one `result` per item, ids
    /// 1...n with no gap or repeat across the two streams, one result object
    /// per success, and every node took a share.
    @Test func aBatchOnThreeNodesEndsWithOneResultPerItem() async throws {
        let cluster = try await ClusterHarness.make()
        let nodes = [try await cluster.start("a"), try await cluster.start("b"), try await cluster.start("c")]
        defer { Task { await Self.stop(nodes) } }
        let created = try await nodes[0].postBatch(try await Self.photos(200), query: "width=48&format=png")
        #expect(created.total == 200)

        let first = try await nodes[1].events(of: created.batchID, stopAfter: 150)
        let last = try #require(first.last).id
        let rest = try await nodes[2].events(of: created.batchID, after: last)
        let events = first + rest
        #expect(events.map(\.id) == Array(1...events.count), "ids 1...n across two nodes' streams, no gap, no repeat")
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(200))
        #expect(verdict.summary?.succeeded == 200)
        #expect(events.last?.name == "complete")

        let objects = try await cluster.resultObjects()
        #expect(objects.count == 200, "one result object per success")
        let status = try await nodes[2].json(APIBatchStatus.self, "/batches/\(created.batchID)")
        #expect(status.status == .completed && status.succeeded == 200 && status.results.count == 200)
        for item in status.results.prefix(3) {
            let url = try #require(item.url)
            #expect(try await nodes[1].get(url).status == 200, "any node serves any node's result")
        }
        for node in nodes {
            let metrics = String(decoding: try await node.get("/metrics").body, as: UTF8.self)
            let claims = metrics.split(separator: "\n").first { $0.hasPrefix("calotype_cluster_claims_total") }
            let count = claims.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(count > 0, "node \(node.name) claimed items")
        }
        let overview = try await nodes[0].json(APICluster.self, "/cluster")
        #expect(overview.nodes.map(\.name) == ["a", "b", "c"])
        #expect(overview.items["succeeded"] == 200)
        await Self.stop(nodes)
    }

    /// A node killed (SIGKILL) while it holds leases: its items are taken
    /// back when the leases end and finish on the other node, none twice.
    @Test func aKilledNodesItemsFinishElsewhereNoneTwice() async throws {
        let cluster = try await ClusterHarness.make()
        let doomed = try await cluster.start("doomed")
        let survivor = try await cluster.start("survivor")
        defer { Task { await Self.stop([doomed, survivor]) } }
        // Slow enough items that the doomed node is caught holding one.
        let created = try await survivor.postBatch(try await Self.photos(12, width: 1600, height: 1200), query: "blur=4&format=png")
        let stream = Task { try await survivor.events(of: created.batchID) }
        var holding = false
        while !holding {
            let health = try await doomed.get("/health")
            holding = (try? APIJSON.decode(HealthCluster.self, from: Data(health.body)))?.cluster.claims ?? 0 > 0
            if !holding { try await Task.sleep(for: .milliseconds(20)) }
        }
        doomed.kill(SIGKILL)
        let events = try await stream.value
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(12), "every item ended once")
        #expect(verdict.summary?.succeeded == 12)
        #expect(events.map(\.id) == Array(1...events.count))
        #expect(try await cluster.resultObjects().count == 12)
        await Self.stop([doomed, survivor])
        let log = try String(contentsOf: cluster.folder.appendingPathComponent("survivor.log"), encoding: .utf8)
        #expect(log.contains("took back expired leases"), "the survivor rescued the dead node's items")
    }

    /// `DELETE /batches/{id}` on a node that runs none of its items ends
    /// them all, wherever they run; the stream ends with `complete`.
    @Test func aCancelOnAnyNodeEndsTheBatchEverywhere() async throws {
        let cluster = try await ClusterHarness.make()
        let worker = try await cluster.start("worker")
        let other = try await cluster.start("other", extra: ["CALOTYPE_CPU_WORKERS": "1"])
        defer { Task { await Self.stop([worker, other]) } }
        let created = try await worker.postBatch(try await Self.photos(20, width: 1600, height: 1200), query: "blur=4&format=png")
        let stream = Task { try await worker.events(of: created.batchID) }
        let (status, body) = try await other.delete("/batches/\(created.batchID)")
        #expect(status == 200)
        let answer = try APIJSON.decode(APIBatchStatus.self, from: Data(body))
        #expect(answer.status == .cancelled && answer.completed == 20 && answer.cancelled > 0)
        let events = try await stream.value
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(20))
        #expect(verdict.summary?.cancelled == answer.cancelled)
        #expect(events.last?.name == "complete")
        await Self.stop([worker, other])
    }
}

/// The part of `/health` a cluster node adds.
struct HealthCluster: Decodable {
    let cluster: APIClusterHealth
}
