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
        let photo = try await offThePool { try SyntheticImage.jpeg(width: width, height: height, seed: 3) }
        return Array(repeating: photo, count: count)
    }

    static func stop(_ nodes: [NodeProcess]) async {
        for node in nodes where node.process.isRunning { node.kill(SIGKILL) }
        for node in nodes { _ = await ServeCommandTests.exitStatus(of: node.process) }
    }

    /// With a keys file on every node, a batch belongs to the tenant that
    /// posted it on any node: another tenant's status, events and cancel
    /// are 404 wherever it asks, an admin's are not, and the owner's run
    /// to the end.
    @Test func aBatchBelongsToItsTenantOnEveryNode() async throws {
        let cluster = try await ClusterHarness.make()
        let (keys, extra) = try await cluster.keysFile(["web": "batches", "other": "batches", "root": "admin"])
        let nodes = [try await cluster.start("k1", extra: extra), try await cluster.start("k2", extra: extra)]
        defer { Task { await Self.stop(nodes) } }
        let web = try #require(keys["web"])
        let other = try #require(keys["other"])
        let root = try #require(keys["root"])
        let created = try await nodes[0].with(key: web).postBatch(try await Self.photos(4), query: "width=48&format=png")
        for node in nodes {
            let stranger = node.with(key: other)
            #expect(try await stranger.get(created.statusURL).status == 404, "\(node.name): another tenant's status")
            #expect(try await stranger.get(created.eventsURL).status == 404, "\(node.name): another tenant's events")
            #expect(try await stranger.delete(created.statusURL).status == 404, "\(node.name): another tenant's cancel")
            #expect(try await node.get(created.statusURL).status == 401, "\(node.name): no key")
            #expect(try await node.with(key: root).get(created.statusURL).status == 200, "\(node.name): an admin's")
        }
        // The owner, on the other node: its batch ran to the end, uncancelled.
        let events = try await nodes[1].with(key: web).events(of: created.batchID)
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(4))
        #expect(verdict.summary?.succeeded == 4)
        // Its results, read from the bucket by either node: the owner's and
        // an admin's, not another tenant's, even with the url.
        let url = try #require(verdict.succeeded.first?.url)
        for node in nodes {
            #expect(try await node.with(key: other).get(url).status == 404, "\(node.name): another tenant's result")
            #expect(try await node.with(key: web).get(url).status == 200, "\(node.name): its owner's result")
            #expect(try await node.with(key: root).get(url).status == 200, "\(node.name): an admin's")
        }
        await Self.stop(nodes)
    }

    /// Two tenants on two nodes: `bulk` posts 60 slow items, then `web`
    /// posts 3. The queue gives `web`'s items turns beside `bulk`'s, so they
    /// end while `bulk` has run only a few more of its own, not after all
    /// of them (the queue was first in, first out before). Read from the
    /// batches' counts, not from time.
    @Test func anotherTenantsSmallBatchIsNotQueuedBehindALargeOne() async throws {
        let cluster = try await ClusterHarness.make()
        let (keys, extra) = try await cluster.keysFile(["bulk": "batches", "web": "batches"])
        let nodes = [try await cluster.start("f1", extra: extra), try await cluster.start("f2", extra: extra)]
        defer { Task { await Self.stop(nodes) } }
        let bulk = nodes[0].with(key: try #require(keys["bulk"]))
        let web = nodes[1].with(key: try #require(keys["web"]))
        let large = try await bulk.postBatch(try await Self.photos(60, width: 1600, height: 1200), query: "blur=4&format=png")
        let small = try await web.postBatch(try await Self.photos(3, width: 1600, height: 1200), query: "blur=4&format=png")
        let before = try await bulk.json(APIBatchStatus.self, large.statusURL).completed
        let verdict = StreamVerdict(try await web.events(of: small.batchID))
        let after = try await bulk.json(APIBatchStatus.self, large.statusURL).completed
        #expect(verdict.summary?.succeeded == 3)
        // 3 turns each, plus what the two nodes held when web posted, plus slack:
        // far from the 60 a first-in, first-out queue would run first.
        #expect(after - before <= 12, "bulk ran \(after - before) items (\(before) to \(after)) while web's 3 waited")
        _ = try await bulk.events(of: large.batchID)
        await Self.stop(nodes)
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
            #expect(try await node.metric("calotype_cluster_claims_total") > 0, "node \(node.name) claimed items")
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
        // Items long enough (seconds each) that the doomed node is caught holding one.
        let created = try await survivor.postBatch(try await Self.photos(4, width: 3000, height: 2000), query: "blur=12&format=png")
        let stream = Task { try await survivor.events(of: created.batchID) }
        try await doomed.waitUntilHolding()
        doomed.kill(SIGKILL)
        let held = try await survivor.json(APICluster.self, "/cluster").nodes.first { $0.name == "doomed" }?.running ?? 0
        try #require(held > 0, "killed while the database says it holds an item")
        let events = try await stream.value
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(4), "every item ended once")
        #expect(verdict.summary?.succeeded == 4)
        #expect(events.map(\.id) == Array(1...events.count))
        #expect(try await cluster.resultObjects().count == 4)
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

    /// `/process-batch`, `/process-batch-stream` and `/process-and-save` in
    /// cluster mode run their items through the queue (both nodes take
    /// some) and answer exactly as on one node.
    @Test func theBatchEndpointsRunThroughTheQueue() async throws {
        let cluster = try await ClusterHarness.make()
        let save = ["CALOTYPE_SAVE_URL": "s3://\(cluster.bucket)/saved/"]
        let nodes = [try await cluster.start("one", extra: save), try await cluster.start("two", extra: save)]
        defer { Task { await Self.stop(nodes) } }
        let photos = try await Self.photos(8, width: 800, height: 600)

        let (status, body) = try await nodes[0].post("/process-batch", photos, query: "width=64&format=png&inline=true")
        #expect(status == 200)
        let summary = try APIJSON.decode(APIBatchSummary.self, from: Data(body))
        #expect(summary.succeeded == 8 && summary.results?.map(\.index) == Array(0..<8))
        #expect(summary.results?.allSatisfy { $0.data != nil && $0.width == 64 } == true, "inline results, read back from S3")

        let (streamStatus, streamBody) = try await nodes[1].post("/process-batch-stream", photos, query: "width=64&format=png")
        #expect(streamStatus == 200)
        let events = String(decoding: streamBody, as: UTF8.self).components(separatedBy: "\n\n").compactMap(StreamedEvent.init)
        #expect(StreamVerdict(events).everyItemEndedOnce(8))
        #expect(events.last?.name == "complete" && events.map(\.id) == Array(1...events.count))

        let (savedStatus, savedBody) = try await nodes[0].post("/process-and-save", photos, query: "width=64&format=webp")
        #expect(savedStatus == 200)
        let saved = try APIJSON.decode(APIBatchSummary.self, from: Data(savedBody))
        #expect(saved.results?.allSatisfy { $0.savedTo?.hasPrefix("s3://\(cluster.bucket)/saved/") == true } == true)
        let objects = try await cluster.s3.list(bucket: cluster.bucket, prefix: "saved/").objects
        #expect(objects.count == 8)

        for node in nodes {
            #expect(try await node.metric("calotype_cluster_claims_total") > 0, "node \(node.name) took items")
        }
        await Self.stop(nodes)
    }
}

/// The part of `/health` a cluster node adds.
struct HealthCluster: Decodable {
    let cluster: APIClusterHealth
}

/// The Grafana dashboard (deploy/grafana) names only metrics a node exports.
@Suite("Deployment: the dashboard", .timeLimit(.minutes(3)))
struct DashboardTests {
    @Test func everyMetricTheDashboardNamesIsExported() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dashboard = try String(contentsOf: root.appendingPathComponent("deploy/grafana/calotype-dashboard.json"), encoding: .utf8)
        let named = Set(
            dashboard.matches(of: /\b((?:calotype|hb|http_server)_[a-z_]+)/).map { match in
                // A histogram's series are its family's.
                String(match.output.1).replacing(/_(bucket|sum|count)$/, with: "")
            }
        )
        #expect(named.count >= 15, "the dashboard names \(named.count) metrics")

        // A cluster node after some work: a batch with a bad file, a refused request.
        let cluster = try await ClusterHarness.make()
        let node = try await cluster.start("dashboard")
        defer { Task { await ClusterNodesTests.stop([node]) } }
        let pdf = try [UInt8](Data(contentsOf: CLI.fixtures.appendingPathComponent("document.pdf")))
        let created = try await node.postBatch(try await ClusterNodesTests.photos(2) + [pdf], query: "width=32&format=png")
        _ = try await node.events(of: created.batchID)
        _ = try await node.post("/process", [pdf], query: "width=oops")
        let metrics = String(decoding: try await node.get("/metrics").body, as: UTF8.self)
        let exported = Set(metrics.matches(of: #/\# TYPE ([a-z_]+) /#).map { String($0.output.1) })
        for name in named.sorted() {
            #expect(exported.contains(name), "\(name) is on the dashboard but not in /metrics")
        }

        // The console's engine view shows the cluster: its node and its items.
        let browser = try HeadlessBrowser()
        do {
            try await browser.open(node.base + "/")
            let shown =
                try await browser.evaluate(
                    """
                    new Promise((resolve) => {
                      const look = () => !document.getElementById("cluster").hidden
                        ? resolve({ nodes: document.querySelector("#nodes tbody").innerText, items: document.getElementById("cluster-items").textContent })
                        : setTimeout(look, 50);
                      look();
                    })
                    """
                ) as? [String: Any]
            #expect((shown?["nodes"] as? String)?.contains("dashboard") == true, "\(shown ?? [:])")
            #expect((shown?["items"] as? String)?.contains("2 succeeded") == true, "\(shown ?? [:])")
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
        await ClusterNodesTests.stop([node])
    }
}
