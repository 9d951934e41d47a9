#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, as a resolver gives it, with the ranges the
/// source guard cares about.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// 16 bytes, network order.
    case v6([UInt8])

    /// Parses dotted IPv4 or any IPv6 text form (`::1`, `::ffff:10.0.0.1`).
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: v6) { Array($0) })
            return
        }
        return nil
    }

    /// What kind of place the address is, from the guard's point of view.
    /// An IPv6 address that carries an IPv4 one (mapped, compatible,
    /// NAT64, 6to4, Teredo, ISATAP) is the IPv4 address's kind.
    public enum Scope: String, Sendable, Hashable {
        /// This machine: 127.0.0.0/8, ::1.
        case loopback
        /// One network segment, where cloud metadata services live:
        /// 169.254.0.0/16 (169.254.169.254 among them), fe80::/10.
        case linkLocal = "link-local"
        /// Private and shared networks: 10/8, 172.16/12, 192.168/16,
        /// 100.64/10 (carrier-grade NAT), fc00::/7, fec0::/10, 64:ff9b:1::/48.
        case `private`
        /// Not a destination at all: 0.0.0.0/8, ::, multicast, broadcast,
        /// reserved ranges, 2001:db8::/32 (documentation), 100::/64 (discard).
        case unusable
        case `public`
    }

    public var scope: Scope {
        switch self {
        case .v4(let address):
            return Self.scope(ofV4: address)
        case .v6(let bytes):
            return Self.scope(ofV6: bytes)
        }
    }

    /// An IPv6 address by its range, and the forms that carry an IPv4
    /// address (and reach it, through a relay or a translator) by that
    /// address: a public-looking IPv6 address must not be a way to the
    /// metadata service or a private network.
    private static func scope(ofV6 bytes: [UInt8]) -> Scope {
        guard bytes.count == 16 else { return .unusable }
        func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
        let last32 = v4(from: bytes[12...])
        // IPv4-mapped ::ffff:a.b.c.d and SIIT's IPv4-translated ::ffff:0:a.b.c.d.
        if starts([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) || starts([0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]) {
            return scope(ofV4: last32)
        }
        if bytes.allSatisfy({ $0 == 0 }) { return .unusable }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return .loopback }
        // IPv4-compatible ::a.b.c.d.
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return scope(ofV4: last32) }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }
        // fc00::/7 (unique local) and the deprecated site-local fec0::/10.
        if bytes[0] & 0xFE == 0xFC || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0) { return .private }
        if bytes[0] == 0xFF { return .unusable }
        // NAT64's well-known prefix 64:ff9b::/96 translates to its last 32 bits.
        if starts([0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]) { return scope(ofV4: last32) }
        // NAT64's local-use 64:ff9b:1::/48 (RFC 8215) is not routed on the
        // internet: at best private, and as its IPv4 address (in the last
        // 32 bits, the /96 form) when that is less.
        if starts([0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01]) {
            let carried = scope(ofV4: last32)
            return carried == .public ? .private : carried
        }
        // 6to4 2002:a.b.c.d::/48 relays to the IPv4 address after the prefix.
        if starts([0x20, 0x02]) { return scope(ofV4: v4(from: bytes[2..<6])) }
        // Teredo 2001:0::/32: the client's IPv4 address is the last 32 bits, inverted.
        if starts([0x20, 0x01, 0x00, 0x00]) { return scope(ofV4: ~last32) }
        // ISATAP's interface identifier [00|02]00:5efe:a.b.c.d, under any
        // prefix (the link-local and private ones are judged above).
        if bytes[8] & 0xFD == 0 && bytes[9] == 0 && bytes[10] == 0x5E && bytes[11] == 0xFE { return scope(ofV4: last32) }
        // 2001:db8::/32 is for documentation, and 100::/64 discards.
        if starts([0x20, 0x01, 0x0D, 0xB8]) || starts([0x01, 0, 0, 0, 0, 0, 0, 0]) { return .unusable }
        return .public
    }

    private static func v4(from bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func scope(ofV4 address: UInt32) -> Scope {
        func within(_ network: UInt32, _ prefix: Int) -> Bool {
            let mask: UInt32 = prefix == 0 ? 0 : ~0 << (32 - prefix)
            return address & mask == network & mask
        }
        if within(0x7F00_0000, 8) { return .loopback }
        if within(0xA9FE_0000, 16) { return .linkLocal }
        if within(0x0A00_0000, 8) || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) || within(0x6440_0000, 10) { return .private }
        if within(0x0000_0000, 8) || within(0xE000_0000, 4) || within(0xF000_0000, 4) { return .unusable }
        return .public
    }

    public var description: String {
        switch self {
        case .v4(let address):
            return [24, 16, 8, 0].map { String(address >> UInt32($0) & 0xFF) }.joined(separator: ".")
        case .v6(let bytes):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
