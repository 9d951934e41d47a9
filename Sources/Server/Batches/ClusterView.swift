import CalotypeCore

/// What the server shows of the cluster it is a node of (`/health`,
/// `/stats`, `GET /cluster`); the composition root's implementation reads
/// the cluster's database.
public protocol ClusterView: Sendable {
    /// This node: its name, whether the database answers, its claims.
    func health() async -> APIClusterHealth
    /// Every node, and the items per state and pool.
    func overview() async throws(APIError) -> APICluster
}
