import Crypto
import Foundation

/// The keys a server accepts, read from the keys file
/// (`CALOTYPE_API_KEYS_FILE`): for each, its tenant's name, the SHA-256 of
/// the key (the key itself is never stored), its scopes and its limits.
///
/// ```json
/// {"keys": [
///   {"name": "web", "sha256": "<64 hex digits>", "scopes": ["process"], "rate": 50, "max_in_flight": 8}
/// ]}
/// ```
///
/// Several entries may share a name (a tenant's old and new key while it
/// rotates them); they must then agree on `rate` and `max_in_flight`, which
/// are the tenant's.
public struct APIKeys: Sendable {
    struct Entry: Sendable {
        let digest: [UInt8]
        let tenant: Tenant
    }

    let entries: [Entry]

    /// The tenants' names, in the file's order, once each: the values the
    /// per-tenant metrics' label may take.
    public var tenantNames: [String] {
        var seen: Set<String> = []
        return entries.map(\.tenant.name).filter { seen.insert($0).inserted }
    }

    /// The tenant whose key this is, or nil. Every entry is compared, each
    /// in constant time, so the time taken says nothing of which entry (or
    /// how much of one) matched.
    public func tenant(forKey key: String) -> Tenant? {
        let digest = Array(SHA256.hash(data: Array(key.utf8)))
        var found: Tenant?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) {
            found = entry.tenant
        }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The hex SHA-256 of `key`: what the keys file holds for it.
    public static func digestHex(of key: String) -> String {
        SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Reading the file

    /// The longest tenant name: it labels metrics and logs.
    static let maxNameLength = 64
    /// More than a server needs, few enough that every request may compare them all.
    static let maxEntries = 1_000
    /// The largest keys file read: 1,000 entries of about 200 bytes, five times over.
    public static let maxFileBytes = 1 << 20

    /// The keys a keys file declares, or why it cannot be used.
    public init(json: Data) throws(APIKeysError) {
        let list: [KeysFile.Entry]
        do {
            list = try JSONDecoder().decode(KeysFile.self, from: json).keys
        } catch let error as APIKeysError {
            throw error
        } catch {
            throw APIKeysError(KeysFile.explain(error))
        }
        guard !list.isEmpty else {
            throw APIKeysError("lists no keys: add one (`calotype keys new NAME --scopes ...`), or unset the setting to run the server open")
        }
        guard list.count <= Self.maxEntries else {
            throw APIKeysError("lists \(list.count) keys; at most \(Self.maxEntries) are read")
        }
        var entries: [Entry] = []
        var digests: Set<[UInt8]> = []
        var limits: [String: KeysFile.Limits] = [:]
        for (index, item) in list.enumerated() {
            let entry = try Self.entry(item, index: index)
            guard digests.insert(entry.digest).inserted else {
                throw APIKeysError("key \(index + 1) ('\(entry.tenant.name)') has the same sha256 as an earlier key")
            }
            let tenant = entry.tenant
            let tenantLimits = KeysFile.Limits(rate: tenant.rate, maxInFlight: tenant.maxInFlight)
            if let earlier = limits[tenant.name], earlier != tenantLimits {
                throw APIKeysError(
                    "key \(index + 1) ('\(tenant.name)') has another rate or max_in_flight than an earlier key of that name; a tenant's keys share its limits"
                )
            }
            limits[tenant.name] = tenantLimits
            entries.append(entry)
        }
        self.entries = entries
    }

    private static func entry(_ item: KeysFile.Entry, index: Int) throws(APIKeysError) -> Entry {
        let position = "key \(index + 1)"
        if let unknown = item.unknownMembers.first {
            throw APIKeysError(
                "\(position) has '\(unknown)', which is none of \(KeysFile.Entry.Member.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard let name = item.name, Self.isName(name) else {
            throw APIKeysError("\(position) needs a name of 1 to \(maxNameLength) letters, digits, '.', '_' or '-'")
        }
        let named = "\(position) ('\(name)')"
        guard let hex = item.sha256, let digest = Self.digest(hex) else {
            throw APIKeysError("\(named): sha256 must be 64 hex digits, the SHA-256 of the key (`calotype keys new` prints it)")
        }
        let allScopes = APIScope.allCases.map(\.rawValue).joined(separator: ", ")
        guard let scopeNames = item.scopes, !scopeNames.isEmpty else {
            throw APIKeysError("\(named): scopes must be a non-empty list of \(allScopes)")
        }
        var scopes: Set<APIScope> = []
        for scopeName in scopeNames {
            guard let scope = APIScope(rawValue: scopeName) else {
                throw APIKeysError("\(named): '\(scopeName)' is not a scope; the scopes are \(allScopes)")
            }
            scopes.insert(scope)
        }
        if let rate = item.rate, !(0.001...1_000_000).contains(rate) {
            throw APIKeysError("\(named): rate must be requests a second in 0.001...1000000, got \(rate)")
        }
        var maxInFlight: Int?
        if let limit = item.maxInFlight {
            // Checked as a number before it is made an Int (1e30 would trap).
            guard (1...100_000).contains(limit), limit.rounded() == limit else {
                throw APIKeysError("\(named): max_in_flight must be a whole number of jobs at once in 1...100000, got \(limit)")
            }
            maxInFlight = Int(limit)
        }
        return Entry(digest: digest, tenant: Tenant(name: name, scopes: scopes, rate: item.rate, maxInFlight: maxInFlight))
    }

    static func isName(_ name: String) -> Bool {
        (1...maxNameLength).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
            }
    }

    private static func digest(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why a keys file cannot be used: a sentence that names the entry.
public struct APIKeysError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
