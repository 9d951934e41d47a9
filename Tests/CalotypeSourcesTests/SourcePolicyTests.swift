import CalotypeCore
import CalotypeSources
import TestSupport
import Testing

@Suite("Sources: what may be fetched")
struct SourcePolicyTests {
    @Test(arguments: [
        ("127.0.0.1", IPAddress.Scope.loopback), ("127.200.1.9", .loopback), ("::1", .loopback),
        ("169.254.169.254", .linkLocal), ("fe80::1", .linkLocal),
        ("10.1.2.3", .private), ("172.16.0.1", .private), ("172.31.255.255", .private), ("192.168.1.1", .private),
        ("100.64.0.1", .private), ("fd00::1", .private),
        ("0.0.0.0", .unusable), ("::", .unusable), ("224.0.0.1", .unusable), ("255.255.255.255", .unusable), ("ff02::1", .unusable),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:169.254.169.254", .linkLocal), ("64:ff9b::a00:1", .private),
        ("8.8.8.8", .public), ("172.32.0.1", .public), ("2001:4860:4860::8888", .public), ("::ffff:93.184.216.34", .public),
        // IPv6 forms that carry an IPv4 address are that address's kind.
        ("::ffff:0:7f00:1", .loopback), ("64:ff9b::7f00:1", .loopback), ("64:ff9b::5db8:d822", .public),
        ("64:ff9b:1::a9fe:a9fe", .linkLocal), ("64:ff9b:1:2:3:4:a00:1", .private), ("64:ff9b:1::5db8:d822", .private),
        ("2002:7f00:1::1", .loopback), ("2002:a9fe:a9fe::", .linkLocal), ("2002:a00:1:5::9", .private), ("2002:c0a8:101::1", .private),
        ("2002:5db8:d822::1", .public),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", .loopback), ("2001:0:4136:e378::5601:5601", .linkLocal),
        ("2001:0:4136:e378::f5ff:fffe", .private), ("2001:0:4136:e378:8000:63bf:a247:27dd", .public),
        ("2001:4860:1:2:0:5efe:7f00:1", .loopback), ("2001:4860:1:2:200:5efe:a9fe:a9fe", .linkLocal),
        ("2600:1f18::200:5efe:a00:1", .private), ("2001:4860:1:2:200:5efe:5db8:d822", .public), ("fe80::5efe:5db8:d822", .linkLocal),
        ("fec0::1", .private), ("2001:db8::1", .unusable), ("100::1", .unusable),
    ])
    func addressesAreSortedIntoScopes(_ text: String, _ scope: IPAddress.Scope) throws {
        let address = try #require(IPAddress(text))
        #expect(address.scope == scope, "\(text) is \(address.scope)")
    }

    @Test func theGuardRefusesWhatTheOperatorDidNotAllow() throws {
        let metadata = try #require(IPAddress("169.254.169.254"))
        let loopback = try #require(IPAddress("127.0.0.1"))
        let privateAddress = try #require(IPAddress("10.0.0.5"))
        let publicAddress = try #require(IPAddress("93.184.216.34"))
        let strict = AddressGuard()
        #expect(strict.decide([publicAddress]) == .allowed)
        #expect(strict.decide([metadata]) == .refused(metadata, .linkLocal))
        #expect(strict.decide([loopback]) == .refused(loopback, .loopback))
        #expect(strict.decide([publicAddress, privateAddress]) == .refused(privateAddress, .private), "every address must pass")
        #expect(strict.decide([]) != .allowed)
        #expect(AddressGuard(allowLoopback: true).decide([loopback]) == .allowed)
        #expect(AddressGuard(allowLoopback: true).decide([privateAddress]) != .allowed)
        #expect(AddressGuard(allowPrivate: true).decide([privateAddress, metadata]) == .allowed)
        #expect(AddressGuard(allowLoopback: true, allowPrivate: true).decide([try #require(IPAddress("0.0.0.0"))]) != .allowed)
    }

    @Test func anEmptyAllowListAllowsNothing() async throws {
        let policy = SourcePolicy(allowList: try SourceAllowList(""), addressGuard: AddressGuard(), resolver: TableResolver(table: [:]))
        await #expect(throws: SourceError.self) { try await policy.check(try SourceReference("https://images.example.com/a.jpg")) }
        await #expect(throws: SourceError.self) { try await policy.check(try SourceReference("s3://photos/a.jpg")) }
    }

    @Test func prefixesMatchAtABoundaryOnly() throws {
        let list = try SourceAllowList("https://images.example.com, s3://photos/in/, local:///srv/images")
        func permits(_ text: String) throws -> Bool { list.permits(try SourceReference(text)) }
        #expect(try permits("https://images.example.com/a.jpg"))
        #expect(try permits("HTTPS://Images.Example.com:443/a/b.jpg"))
        #expect(try !permits("https://images.example.com.attacker.net/a.jpg"))
        #expect(try !permits("https://images.example.com:8443/a.jpg"))
        #expect(try !permits("http://images.example.com/a.jpg"))
        #expect(try permits("s3://photos/in/a.jpg"))
        #expect(try !permits("s3://photos/inside/a.jpg"))
        #expect(try !permits("s3://photos2/in/a.jpg"))
        #expect(try permits("local:///srv/images/a.jpg"))
        #expect(try !permits("local:///srv/images-private/a.jpg"))
        #expect(throws: SourceError.self) { try SourceReference("https://images.example.com@attacker.net/a.jpg") }
        #expect(throws: SourceError.self) { try SourceReference("local:///srv/images/../../etc/passwd") }
        #expect(throws: SourceError.self) { try SourceReference("file:///etc/passwd") }
        #expect(throws: SourceError.self) { try SourceAllowList("ftp://example.com/") }
    }

    /// Every way of reaching this machine or a private network through an
    /// allowed-looking name or address is refused unless allowed.
    @Test func namesAndLiteralsThatLeadInsideAreRefused() async throws {
        let resolver = TableResolver(table: [
            "images.example.com": ["93.184.216.34"],
            "localhost": ["127.0.0.1", "::1"],
            "rebind.example.com": ["93.184.216.34", "10.0.0.7"],
            "metadata.example.com": ["169.254.169.254"],
        ])
        let list = try SourceAllowList(
            "https://images.example.com/, http://localhost/, https://rebind.example.com/, http://metadata.example.com/, http://127.0.0.1/, http://169.254.169.254/, http://[::1]/, http://10.0.0.1/"
        )
        let strict = SourcePolicy(allowList: list, addressGuard: AddressGuard(), resolver: resolver)
        #expect(try await strict.check(try SourceReference("https://images.example.com/a.jpg")) == [try #require(IPAddress("93.184.216.34"))])
        for inside in [
            "http://localhost/a.jpg", "https://rebind.example.com/a.jpg", "http://metadata.example.com/latest/meta-data/",
            "http://127.0.0.1/a.jpg", "http://169.254.169.254/latest/meta-data/", "http://[::1]/a.jpg", "http://10.0.0.1/a.jpg",
        ] {
            await #expect(throws: SourceError.self, "\(inside)") { try await strict.check(try SourceReference(inside)) }
        }
        let loopbackAllowed = SourcePolicy(allowList: list, addressGuard: AddressGuard(allowLoopback: true), resolver: resolver)
        #expect(try await loopbackAllowed.check(try SourceReference("http://localhost/a.jpg")).count == 2)
        await #expect(throws: SourceError.self) { try await loopbackAllowed.check(try SourceReference("http://169.254.169.254/latest/")) }
    }

    /// A public-looking IPv6 name that relays or translates to the metadata
    /// service, this machine or a private network is refused by the guard.
    @Test func ipv6NamesThatCarryAnInsideIPv4AddressAreRefused() async throws {
        let names = [
            "sixtofour.test": "2002:a9fe:a9fe::1", "teredo.test": "2001:0:4136:e378::f5ff:fffe", "nat64.test": "64:ff9b::7f00:1",
            "localnat64.test": "64:ff9b:1::5db8:d822", "isatap.test": "2001:4860:1:2:200:5efe:a9fe:a9fe", "siit.test": "::ffff:0:a00:1",
        ]
        let resolver = TableResolver(table: names.mapValues { [$0] }.merging(["public6.test": ["2002:5db8:d822::1"]]) { $1 })
        let list = try SourceAllowList((Array(names.keys) + ["public6.test"]).map { "https://\($0)/" }.joined(separator: ","))
        let strict = SourcePolicy(allowList: list, addressGuard: AddressGuard(), resolver: resolver)
        for name in names.keys {
            await #expect(throws: SourceError.self, "\(name)") { try await strict.check(try SourceReference("https://\(name)/a.jpg")) }
        }
        #expect(try await strict.check(try SourceReference("https://public6.test/a.jpg")) == [try #require(IPAddress("2002:5db8:d822::1"))])
    }

    @Test func theErrorSaysWhichSettingWouldAllowIt() async throws {
        let policy = SourcePolicy(
            allowList: try SourceAllowList("http://127.0.0.1/"),
            addressGuard: AddressGuard(),
            resolver: TableResolver(table: [:])
        )
        do {
            try await policy.check(try SourceReference("http://127.0.0.1/a.jpg"))
            Issue.record("loopback was fetched")
        } catch {
            #expect(error.description.contains("CALOTYPE_ALLOW_LOOPBACK_SOURCES"))
        }
    }
}

@Suite("Sources: the system resolver")
struct SystemResolverTests {
    /// From /etc/hosts: no query leaves the machine.
    @Test func localhostIsLoopback() async throws {
        let addresses = try await SystemResolver().addresses(of: "localhost")
        #expect(!addresses.isEmpty && addresses.allSatisfy { $0.scope == .loopback }, "\(addresses)")
    }
}
