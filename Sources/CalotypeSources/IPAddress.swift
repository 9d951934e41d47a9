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
    public enum Scope: String, Sendable, Hashable {
        /// This machine: 127.0.0.0/8, ::1.
        case loopback
        /// One network segment, where cloud metadata services live:
        /// 169.254.0.0/16 (169.254.169.254 among them), fe80::/10.
        case linkLocal = "link-local"
        /// Private and shared networks: 10/8, 172.16/12, 192.168/16,
        /// 100.64/10 (carrier-grade NAT), fc00::/7.
        case `private`
        /// Not a destination at all: 0.0.0.0/8, ::, multicast, broadcast,
        /// reserved ranges.
        case unusable
        case `public`
    }

    public var scope: Scope {
        switch self {
        case .v4(let address):
            return Self.scope(ofV4: address)
        case .v6(let bytes):
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms are judged as their IPv4 address.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Self.scope(ofV4: Self.v4(from: bytes[12...]))
            }
            if bytes.allSatisfy({ $0 == 0 }) { return .unusable }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return .loopback }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return Self.scope(ofV4: Self.v4(from: bytes[12...])) }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return .linkLocal }
            if bytes[0] & 0xFE == 0xFC { return .private }
            if bytes[0] == 0xFF { return .unusable }
            // NAT64 (64:ff9b::/96) carries an IPv4 address: judge that one.
            if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] { return Self.scope(ofV4: Self.v4(from: bytes[12...])) }
            return .public
        }
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
