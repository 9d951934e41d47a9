/// What `/health` says of this node's place in a cluster.
public struct APIClusterHealth: Codable, Sendable, Hashable {
    public var node: String
    /// Whether the database answered just now.
    public var databaseReachable: Bool
    /// Items this node holds now.
    public var claims: Int

    public init(node: String, databaseReachable: Bool, claims: Int) {
        self.node = node
        self.databaseReachable = databaseReachable
        self.claims = claims
    }

    enum CodingKeys: String, CodingKey {
        case node
        case databaseReachable = "database_reachable"
        case claims
    }
}

/// `GET /cluster`: its nodes, and its items per state and per pool.
public struct APICluster: Codable, Sendable, Hashable {
    public struct Node: Codable, Sendable, Hashable {
        public var name: String
        public var cpuWorkers: Int
        public var gpuWorkers: Int
        /// Seconds since its last heartbeat (by the database's clock).
        public var lastHeartbeatS: Double
        /// Items it holds now.
        public var running: Int

        public init(name: String, cpuWorkers: Int, gpuWorkers: Int, lastHeartbeatS: Double, running: Int) {
            self.name = name
            self.cpuWorkers = cpuWorkers
            self.gpuWorkers = gpuWorkers
            self.lastHeartbeatS = lastHeartbeatS
            self.running = running
        }

        enum CodingKeys: String, CodingKey {
            case name
            case cpuWorkers = "cpu_workers"
            case gpuWorkers = "gpu_workers"
            case lastHeartbeatS = "last_heartbeat_s"
            case running
        }
    }

    /// The node that answered.
    public var node: String
    public var nodes: [Node]
    /// Items per state: queued, running, succeeded, failed, dead, cancelled.
    public var items: [String: Int]
    /// Queued items per pool (gpu, cpu): what an autoscaler scales on.
    public var queued: [String: Int]

    public init(node: String, nodes: [Node], items: [String: Int], queued: [String: Int]) {
        self.node = node
        self.nodes = nodes
        self.items = items
        self.queued = queued
    }
}
