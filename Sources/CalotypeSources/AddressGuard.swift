/// Decides whether a source's host may be connected to, from the addresses
/// its name resolves to: loopback, link-local (cloud metadata at
/// 169.254.169.254) and private networks are refused unless the operator
/// allowed them, and addresses that are no destination always are. Every
/// address of the name must pass, so that a name with one public and one
/// private address cannot be used to reach the private one; the check is
/// made again for every redirect.
public struct AddressGuard: Sendable {
    /// `CALOTYPE_ALLOW_LOOPBACK_SOURCES` (default false).
    public var allowLoopback: Bool
    /// `CALOTYPE_ALLOW_PRIVATE_SOURCES` (default false): private networks
    /// and link-local addresses.
    public var allowPrivate: Bool

    public init(allowLoopback: Bool = false, allowPrivate: Bool = false) {
        self.allowLoopback = allowLoopback
        self.allowPrivate = allowPrivate
    }

    public enum Decision: Hashable, Sendable {
        case allowed
        /// The address that was refused and why.
        case refused(IPAddress, IPAddress.Scope)
    }

    public func decide(_ addresses: [IPAddress]) -> Decision {
        guard !addresses.isEmpty else { return .refused(.v4(0), .unusable) }
        for address in addresses {
            switch address.scope {
            case .public: continue
            case .loopback where allowLoopback: continue
            case .private where allowPrivate, .linkLocal where allowPrivate: continue
            case let scope: return .refused(address, scope)
            }
        }
        return .allowed
    }
}

/// Turns a host name into addresses: the system's resolver in production,
/// a table in tests, so that a guard is tested on its decision, never by
/// connecting anywhere.
public protocol HostResolver: Sendable {
    func addresses(of host: String) async throws -> [IPAddress]
}
