import HummingbirdAuth
import Scheduler

/// Who a request speaks for: the configured name of the key it carried (or
/// the open server's one tenant), what it may do and its limits.
public struct Tenant: Sendable, Hashable, PermissionProviding {
    /// The name of the key's entry: the tenant, as logs and metrics label it.
    public let name: String
    public let scopes: Set<APIScope>
    /// Requests a second, in a token bucket; nil for no limit.
    public let rate: Double?
    /// Jobs at once; nil for no limit.
    public let maxInFlight: Int?

    public init(name: String, scopes: Set<APIScope>, rate: Double? = nil, maxInFlight: Int? = nil) {
        self.name = name
        self.scopes = scopes
        self.rate = rate
        self.maxInFlight = maxInFlight
    }

    /// Every scope, for an `admin` key.
    public var permissions: Set<APIScope> {
        scopes.contains(.admin) ? Set(APIScope.allCases) : scopes
    }

    /// Whether this tenant may read and cancel batches that are not its own.
    public var seesEveryBatch: Bool { scopes.contains(.admin) }

    /// Whether this tenant may read and cancel a batch `owner` posted.
    public func mayRead(batchOf owner: String) -> Bool {
        seesEveryBatch || owner == name
    }

    /// Its jobs' share of the scheduler: turns between tenants, and its cap.
    public var jobTenant: JobTenant { JobTenant(name: name, maxInFlight: maxInFlight) }

    /// The server without a keys file: anyone who reaches it may do
    /// anything, as one tenant.
    public static let open = Tenant(name: "open", scopes: [.admin])
}
