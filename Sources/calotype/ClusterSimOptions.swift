import ArgumentParser
import CalotypeApp
import CalotypeBench
import Foundation
import Logging

/// `calotype bench --cluster-sim NODES`: the cluster's queue under many
/// simulated nodes, on a PostgreSQL of the user's choosing (see
/// docs/CLUSTER.md, "How far one database carries").
struct ClusterSimOptions: ParsableArguments {
    @Option(
        name: .customLong("cluster-sim"),
        help: ArgumentHelp(
            "Simulate clusters of these many nodes (comma-separated, e.g. 8,32,128), each in a scratch database on --database-url; no images.",
            valueName: "list"
        )
    )
    var nodeList: String?

    @Option(help: ArgumentHelp("The PostgreSQL server of --cluster-sim (its user needs CREATEDB); default CALOTYPE_DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(help: "Items per node count (--cluster-sim).")
    var simItems = 20_000

    @Option(help: "Items per batch (--cluster-sim).")
    var simBatchSize = 100

    @Option(help: "Workers per simulated node (--cluster-sim).")
    var simWorkers = 1

    @Option(help: "Milliseconds each simulated item runs (--cluster-sim; 0: it ends at once).")
    var simItemMs = 0

    @Option(help: "Database connections per simulated node, its LISTEN one included (--cluster-sim).")
    var simConnections = 4

    var isRequested: Bool { nodeList != nil }

    func nodeCounts() throws -> [Int] {
        guard let nodeList else { return [] }
        var counts: [Int] = []
        for text in nodeList.split(separator: ",") {
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (1...2048).contains(count) else {
                throw ValidationError("--cluster-sim takes node counts 1...2048 separated by commas, got '\(nodeList)'")
            }
            if !counts.contains(count) { counts.append(count) }
        }
        guard !counts.isEmpty else { throw ValidationError("--cluster-sim needs at least one node count") }
        return counts
    }

    func validate() throws {
        guard isRequested else { return }
        _ = try nodeCounts()
        guard (1...10_000_000).contains(simItems) else { throw ValidationError("--sim-items must be 1...10000000, got \(simItems)") }
        guard (1...10_000).contains(simBatchSize) else { throw ValidationError("--sim-batch-size must be 1...10000, got \(simBatchSize)") }
        guard (1...64).contains(simWorkers) else { throw ValidationError("--sim-workers must be 1...64, got \(simWorkers)") }
        guard (0...60_000).contains(simItemMs) else { throw ValidationError("--sim-item-ms must be 0...60000, got \(simItemMs)") }
        guard (2...100).contains(simConnections) else {
            throw ValidationError("--sim-connections must be 2...100 (one is the LISTEN connection), got \(simConnections)")
        }
    }

    /// Runs the simulation and prints its table.
    func run(settings: Settings) async throws {
        guard let url = databaseURL ?? settings.secret("CALOTYPE_DATABASE_URL") else {
            throw ValidationError("--cluster-sim needs --database-url postgres://USER@HOST:PORT/DATABASE (or CALOTYPE_DATABASE_URL)")
        }
        var logger = Logger(label: "calotype.cluster-sim")
        logger.logLevel = .warning
        let simulation = ClusterSimulation(
            options: .init(
                databaseURL: url,
                nodeCounts: try nodeCounts(),
                items: simItems,
                batchSize: simBatchSize,
                workersPerNode: simWorkers,
                itemTime: .milliseconds(simItemMs),
                connectionsPerNode: simConnections
            ),
            logger: logger
        )
        print("\(simItems) items in batches of \(simBatchSize) per node count; \(simWorkers) worker(s) per node, items of \(simItemMs) ms")
        print(SimulationFigures.header)
        var breakdowns: [String] = []
        _ = try await simulation.run { figures in
            print(figures.row)
            breakdowns.append("statements per item with \(figures.nodes) nodes:\n" + figures.statementBreakdown())
        }
        print()
        print(breakdowns.joined(separator: "\n"), terminator: "")
    }
}
