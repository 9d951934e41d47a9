import CalotypeCore
import Foundation
import TestSupport
import Testing

@testable import CalotypeSources

/// The paths that could be read two ways (by the allow-list, by an origin,
/// an S3 service or a file system that cleans them) are refused as
/// references, for every kind of source and for redirects.
@Suite("Sources: dot segments and odd paths")
struct SourcePathTests {
    /// Path forms that are refused wherever they appear after an allowed
    /// folder: dot segments raw and encoded in any case, through `%2f` and
    /// `%5c`, Tomcat's `..;`, Windows' trailing dots and spaces, overlong
    /// UTF-8, backslashes, control characters and empty segments.
    static let oddPaths = [
        "../private/secret.jpg", "%2e%2e/private/secret.jpg", "%2E%2E/private/secret.jpg", ".%2e/private/secret.jpg",
        "%2e./private/secret.jpg", "%2E./private/secret.jpg", "..%2fprivate/secret.jpg", "..%2Fprivate/secret.jpg",
        "x%2f..%2f..%2fprivate/secret.jpg", "..%5cprivate%5csecret.jpg", "..%5Cprivate/secret.jpg", "./../private/secret.jpg",
        "./secret.jpg", "%2e/secret.jpg", "sub/..", "sub/.", "..", "..;/private/secret.jpg", "%2e%2e%3b/private/secret.jpg",
        ".../secret.jpg", "..%20/secret.jpg", "%EF%BC%8E%EF%BC%8E/private/secret.jpg", "%c0%ae%c0%ae/private/secret.jpg",
        "a\\..\\b.jpg", "a%5cb.jpg", "a\nb.jpg", "a%0ab.jpg", "a%0Ab.jpg", "a%00b.jpg", "a%0d%0aX-Injected:%201", "a%7fb.jpg",
        "a%c2%85b.jpg", "a\tb.jpg", "sub//secret.jpg", "/secret.jpg", "sub%2f%2fsecret.jpg", "a%zzb.jpg", "a%2.jpg",
        // Dots that Unicode's compatibility folding (NFKC) turns into `.` or `..`.
        "%E2%80%A4%E2%80%A4/private/secret.jpg", "%E2%80%A5/private/secret.jpg", "%EF%B9%92%EF%B9%92/private/secret.jpg", "%E2%80%A6/secret.jpg",
    ]

    /// Names that look near those and are ordinary files.
    static let plainPaths = [
        "photo.jpg", "a.b.jpg", "..photo.jpg", "photo..jpg", ".hidden.jpg", "a%20b.jpg", "caf%C3%A9.jpg", "sub/photo.jpg", "sub/",
    ]

    @Test(arguments: oddPaths)
    func anOddPathIsRefusedInEveryKindOfSource(_ path: String) {
        for source in [
            "http://images.test/photos/\(path)", "https://images.test:8443/photos/\(path)", "s3://photos/in/\(path)", "local:///in/\(path)",
        ] {
            #expect(isInvalid(thrown { _ = try SourceReference(source) }), "\(source.debugDescription)")
        }
    }

    @Test(arguments: plainPaths)
    func aPlainPathIsTaken(_ path: String) throws {
        let list = try SourceAllowList("http://images.test/photos/, s3://photos/in/, local:///in/")
        for source in ["http://images.test/photos/\(path)", "s3://photos/in/\(path)", "local:///in/\(path)"] {
            #expect(list.permits(try SourceReference(source)), "\(source)")
        }
    }

    @Test func httpQueriesMayHoldAnythingButControlCharacters() throws {
        let list = try SourceAllowList("https://images.test/photos/")
        for source in ["https://images.test/photos/a.jpg?w=10&path=../x%2f%2e%2e", "https://images.test/photos/a.jpg#frag"] {
            #expect(list.permits(try SourceReference(source)), "\(source)")
        }
        for source in [
            "https://images.test/photos/a.jpg?x=%0a", "https://images.test/photos/a.jpg?x=%00", "https://images.test/photos/a.jpg?x=\r",
            "https://images.test/photos/a.jpg#%0d",
        ] {
            #expect(isInvalid(thrown { _ = try SourceReference(source) }), "\(source.debugDescription)")
        }
    }

    @Test func s3AndLocalReferencesTakeNoQueryFragmentOrPort() {
        for source in [
            "s3://photos/in/a.jpg?acl=public-read", "s3://photos/in/a.jpg?", "s3://photos/in/a.jpg#x", "s3://photos:9000/in/a.jpg",
            "s3://../in/a.jpg", "s3://ph%6ftos/in/a.jpg", "s3://photos//in/a.jpg", "local:///in/a.jpg?x", "local:///in/a.jpg#x",
            "local://host/in/a.jpg", "http://images.test:99999/a.jpg", "http://ima%67es.test/a.jpg", "http://[fe80::1%25eth0]/a.jpg",
            "http://[127.0.0.1]/a.jpg",
        ] {
            #expect(isInvalid(thrown { _ = try SourceReference(source) }), "\(source)")
        }
    }

    /// The exact requests the attacker's references made before.
    @Test func theReportedEscapesAreRefused() throws {
        let sources = try SourceAllowList("http://host.test/photos/, s3://bucket/in/")
        let policy = SourcePolicy(allowList: sources, addressGuard: AddressGuard(), resolver: TableResolver(table: [:]))
        for source in [
            "http://host.test/photos/../private/secret.jpg", "http://host.test/photos/%2e%2e/private/secret.jpg",
            "http://host.test/photos/..%2Fprivate/secret.jpg", "http://host.test/photos/./../private/secret.jpg",
            "s3://bucket/in/../../other-bucket/k.jpg", "s3://bucket/in//../../other-bucket/k.jpg", "s3://bucket/in/..%2f..%2fother-bucket/k.jpg",
        ] {
            #expect(isInvalid(thrown { try policy.checkListed(try SourceReference(source)) }), "\(source)")
        }
    }

    /// A reference made from its parts (as the fetcher makes one from a
    /// redirect) is held to the same form: never permitted, refused by the policy.
    @Test func aReferenceMadeFromPartsIsHeldToTheSameForm() async throws {
        let list = try SourceAllowList("http://host.test/photos/, s3://bucket/in/, local:///in/")
        let policy = SourcePolicy(allowList: list, addressGuard: AddressGuard(), resolver: TableResolver(table: ["host.test": ["93.184.216.34"]]))
        let made: [SourceReference] = [
            .http(try #require(URL(string: "http://host.test/photos/%2e%2e/private/secret.jpg"))),
            .http(try #require(URL(string: "http://host.test/photos/..%2fprivate/secret.jpg"))),
            .s3(bucket: "bucket", key: "in/../other/k.jpg"), .s3(bucket: "bucket", key: "in//k.jpg"), .s3(bucket: "bucket/in", key: "k.jpg"),
            .local(path: "/in/../private/secret.jpg"), .local(path: "/in/a\nb.jpg"),
        ]
        for reference in made {
            #expect(!list.permits(reference), "\(reference)")
            #expect(isInvalid(await thrownAsync { try await policy.check(reference) }), "\(reference)")
        }
        #expect(try await policy.check(.http(try #require(URL(string: "http://host.test/photos/a.jpg")))).count == 1)
    }

    /// An s3 source names an object, never the bucket or a folder (whose GET is a listing).
    @Test func anS3SourceIsAnObject() throws {
        let policy = SourcePolicy(allowList: try SourceAllowList("s3://bucket/"), addressGuard: AddressGuard(), resolver: TableResolver(table: [:]))
        for source in ["s3://bucket", "s3://bucket/", "s3://bucket/in/"] {
            #expect(isInvalid(thrown { try policy.checkListed(try SourceReference(source)) }), "\(source)")
        }
        try policy.checkListed(try SourceReference("s3://bucket/in/a.jpg"))
    }

    // MARK: Redirects

    static let oddLocations = [
        "/photos/../private/secret.jpg", "http://host.test/photos/../private/secret.jpg", "HTTPS://host.test/photos/%2e%2e/private/secret.jpg",
        "//host.test/photos/..%2fprivate/secret.jpg", "../private/secret.jpg", "./secret.jpg", "..", ".", "sub/%2E%2E/%2e%2e/secret.jpg",
        "..%5csecret.jpg", "/photos\\..\\secret.jpg", "/photos/a%0d%0aSet-Cookie:%20x=1", "/photos/a.jpg?x=%0a", "/photos/a.jpg#%00",
        "/photos//secret.jpg", "/photos/..;/secret.jpg", "/photos/%c0%ae%c0%ae/secret.jpg", "/photos/a%zz.jpg",
    ]

    @Test(arguments: oddLocations)
    func aRedirectToAnOddPathIsRefused(_ location: String) {
        #expect(isNotAllowed(thrown { try SourceReference.checkRedirectTarget(location) }, saying: "redirect"), "\(location.debugDescription)")
    }

    @Test func aRedirectToAnOrdinaryPlaceIsLeftToTheSourceChecks() throws {
        for location in [
            "/photos/b.jpg", "b.jpg", "sub/b.jpg", "http://other.test/x.jpg?a=../b", "//cdn.test/x.jpg", "?page=2", "https://host.test",
            "https://host.test/", "https://[::1]:8443/a.jpg", "/photos/..b.jpg",
        ] {
            try SourceReference.checkRedirectTarget(location)
        }
    }

    // MARK: The allow-list's normal form

    @Test func ipv6HostsKeepTheirBrackets() throws {
        #expect(try SourceReference("http://[::1]:8080/a.jpg").normalised == "http://[::1]:8080/a.jpg")
        #expect(try SourceReference("HTTP://[0:0:0:0:0:0:0:1]:80/a.jpg").normalised == "http://[::1]/a.jpg")
        #expect(try SourceReference("https://[2606:4700:0::1111]:443/").normalised == "https://[2606:4700::1111]/")
        #expect(try SourceReference("HTTPS://Images.Example.TEST:443/A.jpg").normalised == "https://images.example.test/A.jpg")
        let list = try SourceAllowList("http://[::1]:8080/")
        func permits(_ text: String) throws -> Bool { list.permits(try SourceReference(text)) }
        #expect(try permits("http://[::1]:8080/a.jpg"))
        #expect(try permits("http://[0::1]:8080/a.jpg"))
        #expect(try !permits("http://[::1:8080]/a.jpg"), "a different host")
        #expect(try !permits("http://[::1]/a.jpg"))
        #expect(try !permits("http://[::1]:8081/a.jpg"))
        #expect(try !permits("http://[::2]:8080/a.jpg"))
        #expect(try !SourceAllowList("http://[::1:8080]/").permits(try SourceReference("http://[::1]:8080/a.jpg")))
    }

    /// The policy finds the address in a bracketed literal without a lookup
    /// (the resolver here knows no name) and judges it.
    @Test func aBracketedLiteralIsResolvedAndJudged() async throws {
        let list = try SourceAllowList("http://[2606:4700::1111]/, http://[::1]:8080/, http://[::ffff:a9fe:a9fe]/")
        let policy = SourcePolicy(allowList: list, addressGuard: AddressGuard(), resolver: TableResolver(table: [:]))
        #expect(try await policy.check(try SourceReference("http://[2606:4700::1111]/a.jpg")) == [try #require(IPAddress("2606:4700::1111"))])
        #expect(isNotAllowed(await thrownAsync { try await policy.check(try SourceReference("http://[::1]:8080/a.jpg")) }, saying: "loopback"))
        #expect(
            isNotAllowed(
                await thrownAsync { try await policy.check(try SourceReference("http://[::ffff:169.254.169.254]/latest/")) },
                saying: "link-local"
            )
        )
    }

    // MARK: Local links

    /// A root with `in/` allowed and `private/` not: links inside `in/`
    /// that lead into `private/` are refused; one that stays in `in/` is read.
    @Test func aLinkIsJudgedByWhereItLeads() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-links-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let files = FileManager.default
        for folder in ["in/sub", "private"] {
            try files.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try Data([1, 2, 3]).write(to: root.appendingPathComponent("in/photo.jpg"))
        try Data([4, 5, 6]).write(to: root.appendingPathComponent("in/sub/inner.jpg"))
        try Data([7, 8, 9]).write(to: root.appendingPathComponent("private/secret.jpg"))
        try files.createSymbolicLink(atPath: root.appendingPathComponent("in/relative").path, withDestinationPath: "../private")
        try files.createSymbolicLink(
            atPath: root.appendingPathComponent("in/absolute").path,
            withDestinationPath: root.appendingPathComponent("private").path
        )
        try files.createSymbolicLink(atPath: root.appendingPathComponent("in/secret.jpg").path, withDestinationPath: "../private/secret.jpg")
        try files.createSymbolicLink(atPath: root.appendingPathComponent("in/inside").path, withDestinationPath: "sub")

        let reader = LocalSourceReader(root: root, allowList: try SourceAllowList("local:///in/"))
        #expect(try await reader.read("/in/photo.jpg", maxBytes: 100) == [1, 2, 3])
        #expect(try await reader.read("/in/inside/inner.jpg", maxBytes: 100) == [4, 5, 6])
        for path in ["/in/relative/secret.jpg", "/in/absolute/secret.jpg", "/in/secret.jpg"] {
            #expect(isNotAllowed(await thrownAsync { _ = try await reader.read(path, maxBytes: 100) }, saying: "symbolic link"), "\(path)")
        }
        #expect(isInvalid(await thrownAsync { _ = try await reader.read("/in/../private/secret.jpg", maxBytes: 100) }))
        // Allowed, the same folder is read through the same link.
        let both = LocalSourceReader(root: root, allowList: try SourceAllowList("local:///in/, local:///private/"))
        #expect(try await both.read("/in/relative/secret.jpg", maxBytes: 100) == [7, 8, 9])
        // A FIFO is not an image: refused at once, never waited on.
        #expect(mkfifo(root.appendingPathComponent("in/pipe.jpg").path, 0o600) == 0)
        #expect(await thrownAsync { _ = try await reader.read("/in/pipe.jpg", maxBytes: 100) } == .notFound("local:///in/pipe.jpg"))
    }
}

/// What `body` threw; nil when it threw nothing.
/// (Any other error is a failure of the test, not a refusal.)
private func thrown(_ body: () throws -> Void) -> SourceError? {
    do {
        try body()
        return nil
    } catch {
        return error as? SourceError
    }
}

private func thrownAsync(_ body: () async throws -> Void) async -> SourceError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? SourceError
    }
}

private func isInvalid(_ error: SourceError?) -> Bool {
    if case .invalidReference = error { true } else { false }
}

private func isNotAllowed(_ error: SourceError?, saying words: String) -> Bool {
    if case .notAllowed(let why) = error { why.contains(words) } else { false }
}
