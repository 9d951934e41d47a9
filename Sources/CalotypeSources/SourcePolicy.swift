import CalotypeCore

/// Whether a source may be fetched: on the allow-list, and for http(s)
/// sources, every address its host resolves to passes the address guard.
/// The fetcher asks again for every redirect's target.
public struct SourcePolicy: Sendable {
    public let allowList: SourceAllowList
    public let addressGuard: AddressGuard
    public let resolver: any HostResolver

    public init(allowList: SourceAllowList, addressGuard: AddressGuard, resolver: any HostResolver) {
        self.allowList = allowList
        self.addressGuard = addressGuard
        self.resolver = resolver
    }

    /// Returns the addresses to connect to (for http(s); connecting to these,
    /// not to a second lookup of the name, keeps a name from changing its
    /// answer between the check and the connection), or throws `notAllowed`.
    @discardableResult
    public func check(_ reference: SourceReference) async throws(SourceError) -> [IPAddress] {
        try checkListed(reference)
        guard case .http(let url) = reference, let name = SourceReference.hostName(of: url) else { return [] }
        let addresses: [IPAddress]
        if let literal = IPAddress(name) {
            addresses = [literal]
        } else {
            do {
                addresses = try await resolver.addresses(of: name)
            } catch {
                throw .unreachable("\(name) could not be resolved")
            }
        }
        switch addressGuard.decide(addresses) {
        case .allowed:
            return addresses
        case .refused(let address, let scope):
            throw .notAllowed("\(name) is \(address), a \(scope.rawValue) address, which sources may not be\(Self.setting(for: scope))")
        }
    }

    /// The allow-list alone: no lookup, no network. A reference made from
    /// its parts (a redirect's URL) is first held to the form a parsed one
    /// must have: `invalidReference` for a dot segment the fetcher's URL
    /// resolution left in (`%2e%2e`), say.
    /// An `s3://` source names an object: its key is neither empty nor a
    /// folder (`s3://bucket/` would be the bucket's listing).
    public func checkListed(_ reference: SourceReference) throws(SourceError) {
        try reference.validate()
        if case .s3(_, let key) = reference, key.isEmpty || key.hasSuffix("/") {
            throw .invalidReference(reference.description, "an s3 source names an object (s3://bucket/key), not a bucket or folder")
        }
        guard allowList.permits(reference) else {
            throw .notAllowed(
                allowList.prefixes.isEmpty
                    ? "no source is allowed on this server (CALOTYPE_ALLOWED_SOURCES is empty)"
                    : "\(reference) is not under an allowed source (CALOTYPE_ALLOWED_SOURCES)"
            )
        }
    }

    private static func setting(for scope: IPAddress.Scope) -> String {
        switch scope {
        case .loopback: " (CALOTYPE_ALLOW_LOOPBACK_SOURCES allows it)"
        case .private, .linkLocal: " (CALOTYPE_ALLOW_PRIVATE_SOURCES allows it)"
        case .unusable, .public: ""
        }
    }
}
