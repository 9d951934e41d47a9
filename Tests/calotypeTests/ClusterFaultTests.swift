import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Cluster mode when things go wrong, on real processes: a node frozen
/// past its lease, an item that kills every node that takes it, the
/// database restarting mid-batch, a node drained with SIGTERM, a GPU node
/// that goes away, and a load balancer in front.
@Suite("Cluster mode: faults", .serialized, .timeLimit(.minutes(5)))
struct ClusterFaultTests {
    /// Photos slow enough that a node is caught holding one (about half a
    /// second each on one worker here).
    static func slowPhotos(_ count: Int) async throws -> [[UInt8]] {
        try await ClusterNodesTests.photos(count, width: 1600, height: 1200)
    }

    static let slowRecipe = "blur=4&format=png"

    /// SIGSTOP past the lease, then SIGCONT: the frozen node's item was
    /// rescued and finished elsewhere; when it wakes, its lease token is
    /// stale, so its result is refused (or its item stopped), never counted.
    @Test func aFrozenNodesLateResultIsRefused() async throws {
        let cluster = try await ClusterHarness.make()
        let frozen = try await cluster.start("frozen")
        let healthy = try await cluster.start("healthy")
        defer { Task { await ClusterNodesTests.stop([frozen, healthy]) } }
        // Two long items on two nodes of one worker each: each node takes one.
        let created = try await healthy.postBatch(
            try await ClusterNodesTests.photos(2, width: 3000, height: 2000),
            query: "blur=12&format=png"
        )
        let stream = Task { try await healthy.events(of: created.batchID) }
        try await frozen.waitUntilHolding()
        frozen.kill(SIGSTOP)
        let holds = try await healthy.json(APICluster.self, "/cluster").nodes.first { $0.name == "frozen" }?.running ?? 0
        try #require(holds == 1, "frozen while the database says it holds its item")
        let events = try await stream.value
        frozen.kill(SIGCONT)
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(2))
        #expect(verdict.summary?.succeeded == 2)
        // Awake again: its stale lease shows as a refused finish or a lost lease.
        var refused = 0.0
        while refused == 0 {
            refused =
                try await frozen.metric("calotype_cluster_finishes_total", where: ["accepted": "false"])
                + frozen.metric("calotype_cluster_leases_lost_total")
            if refused == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(try await healthy.json(APIBatchStatus.self, "/batches/\(created.batchID)").succeeded == 2, "nothing counted twice")
        await ClusterNodesTests.stop([frozen, healthy])
    }

    /// An item that takes down every node that runs it (here: each holder
    /// is killed) ends `dead` after `CALOTYPE_MAX_ATTEMPTS`, with its
    /// `error` event, and the batch completes.
    @Test func aPoisonItemEndsDead() async throws {
        let cluster = try await ClusterHarness.make()
        var alive: [NodeProcess] = []
        for name in ["p1", "p2", "p3"] { alive.append(try await cluster.start(name, extra: ["CALOTYPE_MAX_ATTEMPTS": "2"])) }
        let all = alive
        defer { Task { await ClusterNodesTests.stop(all) } }
        let created = try await alive[0].postBatch(try await ClusterNodesTests.photos(1, width: 3000, height: 2000), query: "blur=12&format=png")
        for _ in 0..<2 {
            let holder = try await Self.holder(among: alive)
            holder.kill(SIGKILL)
            _ = await ServeCommandTests.exitStatus(of: holder.process)
            alive.removeAll { $0.name == holder.name }
        }
        let events = try await alive[0].events(of: created.batchID)
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(1))
        #expect(verdict.summary?.failed == 1)
        let error = events.compactMap { event -> APIBatchEvent.ItemError? in
            if case .error(let error) = event.decoded { error } else { nil }
        }.first
        #expect(error?.code == .attemptsExhausted)
        await ClusterNodesTests.stop(all)
    }

    /// The node that holds an item now.
    static func holder(among nodes: [NodeProcess]) async throws -> NodeProcess {
        while true {
            for node in nodes where try await node.claims() > 0 { return node }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// PostgreSQL restarts mid-batch: the batch completes, and a stream
    /// resumed with `Last-Event-ID` on another node sees no gap and no repeat.
    @Test func theBatchSurvivesADatabaseRestart() async throws {
        let database = try await PostgreSQLServer.dedicated()
        let cluster = try await ClusterHarness.make(database: database)
        // Not ServerProcess's 600 s job deadline: a node's item deadline (its
        // recovery when a database call stalls in the restart, seen once in a
        // loaded run) is the job deadline plus 96 s here, and must come within
        // the 240 s `events` waits. This test's small items take well under a
        // second each; the frozen-node test's large ones took over 60 s under
        // AddressSanitizer, so the harness keeps 600 s.
        let quick = ["CALOTYPE_JOB_TIMEOUT": "60"]
        let nodes = [try await cluster.start("r1", extra: quick), try await cluster.start("r2", extra: quick)]
        defer { Task { await ClusterNodesTests.stop(nodes) } }
        let created = try await nodes[0].postBatch(try await ClusterNodesTests.photos(30, width: 1200, height: 900), query: "blur=3&format=png")
        let first = try await nodes[0].events(of: created.batchID, stopAfter: 40)
        try await database.restart()
        let rest = try await nodes[1].events(of: created.batchID, after: try #require(first.last).id)
        let events = first + rest
        #expect(events.map(\.id) == Array(1...events.count), "no gap, no repeat")
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(30))
        #expect(verdict.summary?.succeeded == 30)
        await ClusterNodesTests.stop(nodes)
        try await database.stop()
    }

    /// SIGTERM on a node mid-batch: it stops claiming, lets its items end
    /// and exits 0; the other node finishes the batch.
    @Test func sigtermDrainsANodeMidBatch() async throws {
        let cluster = try await ClusterHarness.make()
        let leaving = try await cluster.start("leaving")
        let staying = try await cluster.start("staying")
        defer { Task { await ClusterNodesTests.stop([leaving, staying]) } }
        let created = try await staying.postBatch(try await Self.slowPhotos(10), query: Self.slowRecipe)
        let stream = Task { try await staying.events(of: created.batchID) }
        try await leaving.waitUntilHolding()
        leaving.kill(SIGTERM)
        #expect(await ServeCommandTests.exitStatus(of: leaving.process) == 0)
        let events = try await stream.value
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(10))
        #expect(verdict.summary?.succeeded == 10, "the leaving node's items ended, none was lost")
        let log = try String(contentsOf: cluster.folder.appendingPathComponent("leaving.log"), encoding: .utf8)
        #expect(log.contains("left the cluster's work"))
        await ClusterNodesTests.stop([staying])
    }

    /// A recipe the GPU runs, on a cluster of a GPU node (PoCL standing in
    /// for the device) and a CPU node: both pools are used; with the GPU
    /// node gone, the CPU node takes the GPU items after its wait, and
    /// nothing is stranded.
    @Test func gpuItemsGoToTheGPUNodeAndNeverStrand() async throws {
        let cluster = try await ClusterHarness.make()
        let gpu = try await cluster.start("gpu", extra: ["CALOTYPE_GPU": "on", "CALOTYPE_OPENCL_CPU": "true"])
        let cpu = try await cluster.start("cpu", extra: ["CALOTYPE_GPU_WAIT": "1"])
        defer { Task { await ClusterNodesTests.stop([gpu, cpu]) } }
        let overview = try await cpu.json(APICluster.self, "/cluster")
        try #require(overview.nodes.first { $0.name == "gpu" }?.gpuWorkers ?? 0 > 0, "the GPU node has GPU workers")

        // More than the GPU node runs in the CPU node's wait (1 s).
        let photos = try await Self.slowPhotos(16)
        let recipe = "blur=8&format=png"
        let first = try await cpu.postBatch(photos, query: recipe)
        let verdict = StreamVerdict(try await cpu.events(of: first.batchID))
        #expect(verdict.everyItemEndedOnce(16) && verdict.summary?.succeeded == 16)
        #expect(try await gpu.metric("calotype_cluster_claims_total", where: ["pool": "gpu"]) > 0, "the GPU node took GPU items")
        #expect(try await cpu.metric("calotype_cluster_claims_total", where: ["pool": "gpu"]) > 0, "the CPU node took GPU items after its wait")

        gpu.kill(SIGKILL)
        let second = try await cpu.postBatch(photos, query: recipe)
        let after = StreamVerdict(try await cpu.events(of: second.batchID))
        #expect(after.everyItemEndedOnce(16) && after.summary?.succeeded == 16, "nothing stranded without the GPU node")
        await ClusterNodesTests.stop([cpu])
    }

    /// Behind a real load balancer (haproxy, which does not buffer event
    /// streams): a batch posted through it, followed through it to its end.
    @Test func aBatchThroughHAProxy() async throws {
        let cluster = try await ClusterHarness.make()
        let nodes = [try await cluster.start("h1"), try await cluster.start("h2")]
        defer { Task { await ClusterNodesTests.stop(nodes) } }
        let proxy = try await HAProxy.start(in: cluster.folder, backends: nodes.map(\.port))
        defer { proxy.stop() }
        let front = NodeProcess(name: "haproxy", process: proxy.process, port: proxy.port)
        let created = try await front.postBatch(try await ClusterNodesTests.photos(20, width: 400, height: 300), query: "width=64&format=png")
        let events = try await front.events(of: created.batchID)
        let verdict = StreamVerdict(events)
        #expect(verdict.everyItemEndedOnce(20) && verdict.summary?.succeeded == 20)
        #expect(events.map(\.id) == Array(1...events.count))
        let status = try await front.json(APIBatchStatus.self, "/batches/\(created.batchID)")
        #expect(status.status == .completed)
        proxy.stop()
        await ClusterNodesTests.stop(nodes)
    }
}
