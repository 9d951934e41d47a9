import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The system's resolver (`getaddrinfo`), which blocks, run on threads of
/// its own: a resolver stuck in its timeouts (5 s a try, by default, times
/// its attempts) holds at most these, never NIO's shared pool that parses
/// uploads.
public struct SystemResolver: HostResolver {
    public init() {}

    /// 4 lookups at once; more wait their turn (within their fetch's deadline).
    static let lookups: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    public func addresses(of host: String) async throws -> [IPAddress] {
        try await Self.lookups.runIfActive { try Self.lookUp(host) }
    }

    struct LookupFailed: Error {
        let code: Int32
    }

    static func lookUp(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &results)
        guard status == 0 else { throw LookupFailed(code: status) }
        defer { freeaddrinfo(results) }
        var addresses: [IPAddress] = []
        var entry = results
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr {
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                switch current.pointee.ai_family {
                case AF_INET:
                    socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                        var raw = address.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                    }
                case AF_INET6:
                    socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                        var raw = address.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                    }
                default:
                    break
                }
                if let address = IPAddress(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)),
                    !addresses.contains(address)
                {
                    addresses.append(address)
                }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}
