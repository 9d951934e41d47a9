import CalotypeCluster
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

@testable import CalotypeBench

/// `calotype bench --cluster-sim`, briefly, on the tests' PostgreSQL: its
/// nodes run every item through the real claim loop and event log, and it
/// leaves nothing behind.
@Suite("calotype bench --cluster-sim", .timeLimit(.minutes(3)))
struct ClusterSimulationTests {
    @Test func everyItemEndsOnceEveryBatchCompletesAndTheScratchDatabaseIsDropped() async throws {
        let server = try await PostgreSQLServer.shared()
        let serverURL = server.url(database: "postgres") + "?sslmode=disable"
        let logger = {
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            return logger
        }()
        let options = ClusterSimulation.Options(databaseURL: serverURL, nodeCounts: [3], items: 250, batchSize: 50, connectionsPerNode: 3)
        var reported: [Int] = []
        let figures = try await ClusterSimulation(options: options, logger: logger).run { reported.append($0.nodes) }

        #expect(reported == [3])
        let run = try #require(figures.first)
        #expect(run.items == 250)
        #expect(run.finished == 250, "each item's end recorded once, none refused")
        #expect(run.completeMs.count == 5, "each of the 5 batches' complete event read on its stream")
        #expect(run.claimMs.count >= 5, "every node looked at the queue, and timed it")
        #expect(run.itemsPerSecond > 0)
        // The tests' server does not load pg_stat_statements: not counted, not made up.
        #expect(run.statements == nil || (run.statementsPerItem ?? 0) > 0)

        let configuration = try ClusterDatabase.configuration(url: serverURL)
        let left = try await ScratchDatabase.withClient(configuration, logger: logger) { client in
            var names: [String] = []
            let rows = try await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'calotype_sim_%'", logger: logger)
            for try await name in rows.decode(String.self) { names.append(name) }
            return names
        }
        #expect(left.isEmpty, "scratch databases left behind: \(left)")
    }

    @Test func aServerThatCannotBeReachedIsAnErrorNotAHang() async throws {
        // A port nothing listens on (the tests' server's, plus a margin that
        // no test uses): the first connection fails and the run says so.
        let options = ClusterSimulation.Options(databaseURL: "postgres://calotype@127.0.0.1:1/postgres?sslmode=disable", nodeCounts: [2], items: 10)
        await #expect(throws: (any Error).self) {
            _ = try await ClusterSimulation(options: options, logger: Logger(label: "test")).run()
        }
    }
}
