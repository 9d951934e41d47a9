import Foundation

/// One statement's calls and the time PostgreSQL spent running them
/// (`pg_stat_statements`: planning, parsing and the round trip not included).
struct StatementCount: Sendable {
    var query: String
    var calls: Int
    var milliseconds: Double
}

/// One node count's figures from `ClusterSimulation`.
public struct SimulationFigures: Sendable {
    public var nodes: Int
    public var workersPerNode: Int
    public var items: Int
    /// Items whose end a node recorded (the run waits for every `complete`,
    /// so this is `items` unless a finish was refused).
    public var finished: Int
    public var seconds: Double
    public var itemsPerSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
    /// Statements per item, by statement (most first), with the
    /// milliseconds PostgreSQL spent running each per item; nil without
    /// `pg_stat_statements`.
    public var statements: [(query: String, perItem: Double, msPerItem: Double)]?
    public var statementsPerItem: Double? { statements.map { $0.reduce(0) { $0 + $1.perItem } } }
    /// Milliseconds PostgreSQL spent running statements, per item.
    public var executionMsPerItem: Double? { statements.map { $0.reduce(0) { $0 + $1.msPerItem } } }
    /// Write-ahead log written per item (the server's, during the run); nil where not read.
    public var walBytesPerItem: Double?
    /// The claim statement's round trip (every look, empty ones too), milliseconds.
    public var claimMs: (p50: Double, p99: Double, count: Int)
    /// From a batch's last item's end to its `complete` on the stream, milliseconds.
    public var completeMs: (p50: Double, p99: Double, count: Int)

    init(
        nodes: Int,
        options: ClusterSimulation.Options,
        elapsed: Duration,
        statements: [StatementCount]?,
        walBytes: Int?,
        timings: SimulationTimings
    ) {
        self.nodes = nodes
        workersPerNode = options.workersPerNode
        items = options.items
        finished = timings.finished
        seconds = Self.seconds(elapsed)
        let items = max(1, options.items)
        self.statements = statements.map { list in
            list.map { ($0.query, Double($0.calls) / Double(items), $0.milliseconds / Double(items)) }
        }
        walBytesPerItem = walBytes.map { Double($0) / Double(items) }
        claimMs = Self.percentiles(timings.claimRoundTrips)
        completeMs = Self.percentiles(timings.completeDelays)
    }

    /// The calls each statement made between two readings, most first.
    static func statements(before: [String: StatementCount]?, after: [String: StatementCount]?) -> [StatementCount]? {
        guard let before, let after else { return nil }
        return after.map { id, entry in
            StatementCount(
                query: entry.query,
                calls: entry.calls - (before[id]?.calls ?? 0),
                milliseconds: entry.milliseconds - (before[id]?.milliseconds ?? 0)
            )
        }
        .filter { $0.calls > 0 }
        .sorted { $0.calls > $1.calls }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func percentiles(_ durations: [Duration]) -> (p50: Double, p99: Double, count: Int) {
        guard !durations.isEmpty else { return (0, 0, 0) }
        let sorted = durations.map { seconds($0) * 1000 }.sorted()
        func at(_ fraction: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))] }
        return (at(0.5), at(0.99), sorted.count)
    }

    /// The table's header, for `row`.
    public static let header =
        "nodes  workers    items  seconds   items/s  statements/item  WAL KiB/item  claim p50 ms  claim p99 ms  complete p50 ms  complete p99 ms"

    public var row: String {
        let statements = statementsPerItem.map { String(format: "%15.2f", $0) } ?? String(repeating: " ", count: 12) + "n/a"
        let head = String(format: "%5d  %7d  %7d  %7.2f  %8.0f  ", nodes, workersPerNode, items, seconds, itemsPerSecond)
        let wal = walBytesPerItem.map { String(format: "  %12.1f", $0 / 1024) } ?? "  " + String(repeating: " ", count: 9) + "n/a"
        let tail = String(format: "  %12.2f  %12.2f  %15.1f  %15.1f", claimMs.p50, claimMs.p99, completeMs.p50, completeMs.p99)
        return head + statements + wal + tail
    }

    /// The statements that make up `statementsPerItem`, the most frequent
    /// first: calls per item, and PostgreSQL's execution time per item.
    public func statementBreakdown(limit: Int = 12) -> String {
        guard let statements else { return "  (pg_stat_statements is not loaded: statements not counted)\n" }
        let total = String(
            format: "  %6.2f  %8.3f  all statements (calls per item, execution ms per item)\n",
            statementsPerItem ?? 0,
            executionMsPerItem ?? 0
        )
        return total
            + statements.prefix(limit).map { query, perItem, msPerItem in
                let text = query.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                return String(format: "  %6.2f  %8.3f  ", perItem, msPerItem) + String(text.prefix(100)) + "\n"
            }.joined()
    }
}
