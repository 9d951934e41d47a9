import CalotypeApp
import CalotypeCore
import CalotypeImageURL
import CalotypeS3
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Scheduler
import Server
import TestSupport
import Testing

/// `GET /img/{signature}/{options}/{source}` end to end: a real origin on
/// loopback, SeaweedFS for S3, a local folder, the real engine, configured
/// from settings as an operator would.
@Suite("GET /img", .serialized, .timeLimit(.minutes(3)))
struct ImageEndpointTests {
    static let key = "736563726574"  // "secret"
    static let salt = "68656c6c6f"  // "hello"
    static let keys = try! URLSigningKeys(keys: key, salts: salt)

    /// `/img/{signature}{path}`, signed with the test key; `path` starts with `/`.
    static func signed(_ path: String) -> String {
        "/img/\(keys.sign(path) ?? "")\(path)"
    }

    static func plain(_ source: String) -> String {
        "plain/" + (source.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
    }

    /// Runs `body` against a server whose settings are `environment` plus
    /// the test key, with an origin on loopback whose address is `origin.test`.
    static func withImageServer(
        _ environment: @escaping @Sendable (Int) -> [String: String] = { _ in [:] },
        names: [String: [String]] = [:],
        counter: OriginCounter = OriginCounter(),
        configure: @escaping @Sendable (inout ServerConfiguration) -> Void = { _ in },
        engine: Engine.Configuration = .init(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600))),
        _ body: @escaping @Sendable (any TestClientProtocol, Int, Engine) async throws -> Void
    ) async throws {
        try await withImageOrigin(counter: counter) { port in
            var settings = [
                "CALOTYPE_ALLOWED_SOURCES": "http://origin.test:\(port)/", "CALOTYPE_ALLOW_LOOPBACK_SOURCES": "true",
                "CALOTYPE_SIGNING_KEY": key, "CALOTYPE_SIGNING_SALT": salt,
            ]
            settings.merge(environment(port)) { $1 }
            let resolver = TableResolver(table: ["origin.test": ["127.0.0.1"]].merging(names) { $1 })
            let read = try ServerConfiguration.read(from: Settings(environment: settings), resolver: resolver)
            try await withServer(
                configure: {
                    $0.sources = read.sources
                    $0.destinations = read.destinations
                    $0.imageURLs = read.imageURLs
                    configure(&$0)
                },
                engine: engine
            ) { client, engine in try await body(client, port, engine) }
        }
    }

    static func photo(_ port: Int, _ name: String = "photo.jpg") -> String { "http://origin.test:\(port)/images/\(name)" }

    /// The error body's code; empty when the body is not one.
    static func errorCode(_ response: TestResponse) -> String {
        (try? decode(ErrorBody.self, response.body))?.error.code ?? ""
    }

    // MARK: The options, against POST /process

    /// Each imgproxy option and the recipe it must mean, in Calotype's shorthand.
    static let equivalents: [(options: String, shorthand: String)] = [
        ("rs:fit:120:90", "width=120&height=90&fit=inside"),
        ("rs:fill:120:90", "width=120&height=90&fit=cover"),
        ("rs:force:120:90", "width=120&height=90&fit=fill"),
        ("resize:fill:120:90:0", "width=120&height=90&fit=cover"),
        ("s:100:0", "width=100&fit=inside"),
        ("size:0:60", "height=60&fit=inside"),
        ("w:100/h:100", "width=100&height=100&fit=inside"),
        ("rt:fill/w:100/h:100/g:sm", "width=100&height=100&fit=cover&gravity=attention"),
        ("w:400/el:1", "width=400&fit=inside&enlarge=true"),
        ("rt:auto/s:100:60", "width=100&height=60&fit=cover"),
        ("rt:auto/s:60:100", "width=60&height=100&fit=inside"),
        ("c:100:80", "crop_x=110&crop_y=80&crop_width=100&crop_height=80"),
        ("crop:100:80:ce/w:50", "crop_x=110&crop_y=80&crop_width=100&crop_height=80&width=50&fit=inside"),
        ("rot:90", "rotate=90"),
        ("bl:2", "blur=2"),
        ("sh:1.5", "sharpen=1.5"),
        ("q:40", "quality=40"),
        ("f:webp/w:80", "format=webp&width=80&fit=inside"),
        ("ext:png", "format=png"),
        ("sm:0", "strip=false"),
        ("pr:thumb", "width=64&height=64&fit=cover&quality=70"),
        // Gravity, sizing, canvas, filters and output options of imgproxy's open-source edition.
        ("rs:fill:100:80/g:soea:5:5", "width=100&height=80&fit=cover&gravity=south_east&offset_x=5&offset_y=5"),
        ("rs:fill:100:80/g:fp:0.1:0.9", "width=100&height=80&fit=cover&gravity=focus&focus_x=0.1&focus_y=0.9"),
        ("c:100:100:nowe:10:20", "crop_width=100&crop_height=100&crop_gravity=north_west&crop_offset_x=10&crop_offset_y=20"),
        ("dpr:2/w:60", "width=120&fit=inside"),
        ("z:0.5", "scale=0.5"),
        ("w:60/mw:100", "width=60&fit=inside&min_width=100"),
        (
            "rs:fit:120:120:0:1:no/bg:00ff00",
            "width=120&height=120&fit=inside&extend_width=120&extend_height=120&extend_gravity=north&extend_background=00ff00&flatten=00ff00"
        ),
        ("w:100/exar:1/f:png", "width=100&fit=inside&format=png"),
        (
            "rs:fit:100:100/exar:1:so/f:png",
            "width=100&height=100&fit=inside&extend_width=100&extend_height=100&extend_mode=aspect&extend_gravity=south&format=png"
        ),
        ("pd:5:10/bg:ffffff", "padding_top=5&padding_right=10&padding_bottom=5&padding_left=10&padding_background=ffffff&flatten=ffffff"),
        ("t:10", "trim=10"),
        ("pix:6", "pixelate=6"),
        ("ar:0", "autorotate=false"),
        ("fl:1", "flip=horizontal"),
        ("rot:90/fl:0:1", "rotate=90&flip=vertical"),
        ("rot:90/fl:1:1", "rotate=270"),
        ("fq:jpeg:50/w:50", "width=50&fit=inside&quality_jpeg=50"),
        ("q:60/fq:jpeg:20", "quality=60"),
        ("mb:2000/w:200", "width=200&fit=inside&max_bytes=2000"),
    ]

    @Test func everyOptionGivesTheBytesOfTheSameRecipeThroughPostProcess() async throws {
        try await Self.withImageServer({ _ in ["CALOTYPE_PRESETS": "thumb=rs:fill:64:64/q:70"] }) { client, port, _ in
            let upload = try MultipartBody.files(["photo.jpg"], field: "file")
            for (options, shorthand) in Self.equivalents {
                let expected = try await client.execute(uri: "/process?\(shorthand)", method: .post, headers: upload.headers, body: upload.body) {
                    ($0.status, Array($0.body.readableBytesView))
                }
                #expect(expected.0 == .ok, "\(shorthand)")
                let path = Self.signed("/\(options)/\(Self.plain(Self.photo(port)))")
                let served = try await client.execute(uri: path, method: .get) { ($0.status, Array($0.body.readableBytesView)) }
                #expect(served.0 == .ok, "\(options)")
                #expect(served.1 == expected.1, "\(options) differs from \(shorthand)")
            }
        }
    }

    /// `wm` lays the server's watermark as the recipe's `watermark` does.
    @Test func aWatermarkIsTheRecipesWatermark() async throws {
        var engine = Engine.Configuration(cpuWorkers: 2, scheduler: .init(jobTimeout: .seconds(600)))
        engine.watermark = WatermarkImage(bytes: try Fixtures.bytes("alpha.png"), name: "alpha.png")
        try await Self.withImageServer(engine: engine) { client, port, _ in
            let upload = try MultipartBody.files(["photo.jpg"], field: "file")
            for (options, shorthand) in [
                ("wm:0.7:soea:5:5:0.2", "watermark=0.7&watermark_position=south_east&watermark_offset_x=5&watermark_offset_y=5&watermark_scale=0.2"),
                ("wm:1:re:20:10", "watermark=1&watermark_position=replicate&watermark_offset_x=20&watermark_offset_y=10"),
            ] {
                let expected = try await client.execute(uri: "/process?\(shorthand)", method: .post, headers: upload.headers, body: upload.body) {
                    ($0.status, Array($0.body.readableBytesView))
                }
                let served = try await client.execute(uri: Self.signed("/\(options)/\(Self.plain(Self.photo(port)))"), method: .get) {
                    ($0.status, Array($0.body.readableBytesView))
                }
                let plain = try await client.execute(uri: Self.signed("/\(Self.plain(Self.photo(port)))"), method: .get) {
                    Array($0.body.readableBytesView)
                }
                #expect(expected.0 == .ok && served.0 == .ok && served.1 == expected.1, "\(options)")
                #expect(served.1 != plain, "\(options) changed the picture")
            }
        }
    }

    /// `mb` lowers the quality until the answer fits; `fq` is a format's
    /// own quality.
    @Test func maxBytesAndFormatQualityShapeTheEncoding() async throws {
        try await Self.withImageServer { client, port, _ in
            func size(_ options: String) async throws -> Int {
                try await client.execute(uri: Self.signed("/\(options)/\(Self.plain(Self.photo(port)))"), method: .get) {
                    #expect($0.status == .ok, "\(options)")
                    return $0.body.readableBytes
                }
            }
            let plain = try await size("w:300")
            let capped = try await size("w:300/mb:6000")
            #expect(plain > 6000 && capped <= 6000, "\(plain) bytes, then \(capped) under mb:6000")
            #expect(try await size("w:300/f:webp/fq:webp:20") < size("w:300/f:webp"))
        }
    }

    /// Delivery: `exp` (404 once past, a shorter max-age before), `cb` (a
    /// new tag, the same bytes), `fn` and `att` (Content-Disposition),
    /// `raw` and `skp` (the source as it is).
    @Test func deliveryOptionsShapeTheAnswerNotThePicture() async throws {
        try await Self.withImageServer { client, port, _ in
            let source = Self.plain(Self.photo(port))
            let now = Int(Date().timeIntervalSince1970)
            try await client.execute(uri: Self.signed("/w:50/exp:\(now - 10)/\(source)"), method: .get) { response in
                #expect(response.status == .notFound && Self.errorCode(response) == "not_found")
            }
            try await client.execute(uri: Self.signed("/w:50/exp:\(now + 120)/\(source)"), method: .get) { response in
                let maxAge = response.headers[.cacheControl].flatMap { Int($0.split(separator: "=").last ?? "") } ?? 0
                #expect(response.status == .ok && (1...120).contains(maxAge), "\(response.headers[.cacheControl] ?? "")")
            }
            let plain = try await client.execute(uri: Self.signed("/w:50/\(source)"), method: .get) {
                ($0.headers[.eTag], Array($0.body.readableBytesView))
            }
            let busted = try await client.execute(uri: Self.signed("/w:50/cb:v2/\(source)"), method: .get) {
                ($0.headers[.eTag], Array($0.body.readableBytesView))
            }
            #expect(plain.0 != busted.0 && plain.1 == busted.1)
            try await client.execute(uri: Self.signed("/w:50/fn:holiday/att:1/f:png/\(source)"), method: .get) { response in
                #expect(response.headers[.contentDisposition] == #"attachment; filename="holiday.png""#)
            }
            try await client.execute(uri: Self.signed("/w:50/fn:aG9saWRheQ:1/\(source)"), method: .get) { response in
                #expect(response.headers[.contentDisposition] == #"inline; filename="holiday.jpg""#)
            }
            try await client.execute(uri: Self.signed("/w:50/att:1/\(source)"), method: .get) { response in
                #expect(response.headers[.contentDisposition] == #"attachment; filename="photo.jpg""#)
            }
            try await client.execute(uri: Self.signed("/w:50/fn:..%2Fx/\(source)"), method: .get) { response in
                #expect(response.status == .badRequest, "a name with a slash")
            }
            let original = try Fixtures.bytes("photo.jpg")
            for options in ["w:50/raw:1", "w:50/skp:jpg:png"] {
                try await client.execute(uri: Self.signed("/\(options)/\(source)"), method: .get) { response in
                    #expect(response.status == .ok && Array(response.body.readableBytesView) == original, "\(options)")
                    #expect(response.headers[.contentType] == "image/jpeg" && response.headers[.xContentTypeOptions] == "nosniff")
                }
            }
            try await client.execute(uri: Self.signed("/w:50/skp:jpg/f:png/\(source)"), method: .get) { response in
                #expect(response.headers[.contentType] == "image/png", "another format asked for: processed")
            }
        }
    }

    @Test func theSourceMayBeBase64WithAnExtensionOrPlainWithOne() async throws {
        try await Self.withImageServer { client, port, _ in
            let encoded = URLSigningKeys.base64URLEncode(Array(Self.photo(port).utf8))
            for path in ["/w:50/\(encoded).webp", "/w:50/\(Self.plain(Self.photo(port)))@webp"] {
                try await client.execute(uri: Self.signed(path), method: .get) { response in
                    #expect(response.status == .ok && response.headers[.contentType] == "image/webp", "\(path)")
                    #expect(response.headers[.vary] == nil, "a format in the URL does not vary with Accept")
                }
            }
        }
    }

    @Test func anOptionCalotypeDoesNotHaveIsRefusedByName() async throws {
        try await Self.withImageServer { client, port, _ in
            // imgproxy Pro's, and a limit a URL may not change.
            for option in ["gradient:0.5", "msr:100"] {
                try await client.execute(uri: Self.signed("/w:50/\(option)/\(Self.plain(Self.photo(port)))"), method: .get) { response in
                    #expect(response.status == .badRequest)
                    let body = try decode(ErrorBody.self, response.body)
                    let name = String(option.prefix { $0 != ":" })
                    #expect(body.error.code == "invalid_recipe" && body.error.message.contains("'\(name)'"), "\(body.error.message)")
                }
            }
        }
    }

    // MARK: Signatures

    @Test func wrongTamperedAndUnsignedPathsAre403() async throws {
        try await Self.withImageServer { client, port, _ in
            let path = "/w:50/\(Self.plain(Self.photo(port)))"
            let good = Self.signed(path)
            #expect(try await client.execute(uri: good, method: .get) { $0.status } == .ok)
            let signature = good.split(separator: "/")[1]
            // Its first character changed (a fixed replacement was a no-op
            // for the 1 in 1,024 signatures that already ended in it).
            let wrong = (signature.first == "A" ? "B" : "A") + signature.dropFirst()
            let attempts = [
                "/img/\(wrong)\(path)",  // a wrong signature
                "/img/\(signature)/w:5000\(path.dropFirst("/w:50".count))",  // the same signature on other options
                "/img/\(signature)/w:50/\(Self.plain(Self.photo(port, "alpha.png")))",  // ... on another source
                "/img/insecure\(path)", "/img/_\(path)",  // unsigned, not allowed by default
            ]
            for attempt in attempts {
                try await client.execute(uri: attempt, method: .get) { response in
                    #expect(response.status == .forbidden, "\(attempt)")
                    #expect(Self.errorCode(response) == "invalid_signature", "\(attempt)")
                }
            }
        }
    }

    @Test func aRotatedKeyStillVerifiesAndUnsignedIsServedOnlyWhenAllowed() async throws {
        let newKey = "6e65772d6b6579"
        let newSalt = "6e65772d73616c74"
        try await Self.withImageServer({ _ in
            ["CALOTYPE_SIGNING_KEY": "\(newKey),\(Self.key)", "CALOTYPE_SIGNING_SALT": "\(newSalt),\(Self.salt)", "CALOTYPE_ALLOW_UNSIGNED": "true"]
        }) { client, port, _ in
            let path = "/w:50/\(Self.plain(Self.photo(port)))"
            let newKeys = try URLSigningKeys(keys: newKey, salts: newSalt)
            for uri in [Self.signed(path), "/img/\(newKeys.sign(path) ?? "")\(path)", "/img/insecure\(path)", "/img/_\(path)"] {
                #expect(try await client.execute(uri: uri, method: .get) { $0.status } == .ok, "\(uri)")
            }
        }
    }

    // MARK: What may be fetched

    /// Every address the guard refuses, by name or literal, with loopback
    /// and private addresses not allowed: refused before any connection.
    @Test func ssrfTargetsAreRefused() async throws {
        let names = [
            "loopy.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"], "inside.test": ["10.1.2.3"], "localhost": ["127.0.0.1", "::1"],
        ]
        try await Self.withImageServer(
            { port in
                [
                    "CALOTYPE_ALLOW_LOOPBACK_SOURCES": "false",
                    "CALOTYPE_ALLOWED_SOURCES": [
                        "http://127.0.0.1:\(port)/", "http://localhost:\(port)/", "http://loopy.test:\(port)/", "http://169.254.169.254/",
                        "http://metadata.test/", "http://10.1.2.3/", "http://inside.test/", "http://[::1]:\(port)/",
                    ].joined(separator: ","),
                ]
            },
            names: names
        ) { client, port, _ in
            let sources = [
                "http://127.0.0.1:\(port)/images/photo.jpg", "http://localhost:\(port)/images/photo.jpg",
                "http://loopy.test:\(port)/images/photo.jpg", "http://169.254.169.254/latest/meta-data/",
                "http://metadata.test/latest/meta-data/", "http://10.1.2.3/a.jpg", "http://inside.test/a.jpg",
                "http://[::1]:\(port)/images/photo.jpg",
            ]
            for source in sources {
                try await client.execute(uri: Self.signed("/w:50/\(Self.plain(source))"), method: .get) { response in
                    #expect(response.status == .forbidden, "\(source)")
                    #expect(Self.errorCode(response) == "source_not_allowed", "\(source)")
                }
            }
        }
    }

    /// An allowed origin that redirects to the metadata service (by a name
    /// that resolves there) or to a loopback address off the allow-list.
    @Test func redirectsAreCheckedOnEveryHop() async throws {
        try await Self.withImageServer(
            { port in
                ["CALOTYPE_ALLOWED_SOURCES": "http://origin.test:\(port)/,http://metadata.test/"]
            },
            names: ["metadata.test": ["169.254.169.254"]]
        ) { client, port, _ in
            for hop in ["to-metadata", "to-loopback"] {
                try await client.execute(uri: Self.signed("/w:50/\(Self.plain("http://origin.test:\(port)/\(hop)"))"), method: .get) { response in
                    #expect(
                        response.status == .forbidden && (Self.errorCode(response)) == "source_not_allowed",
                        "\(hop): \(String(buffer: response.body))"
                    )
                }
            }
            let followed = try await client.execute(uri: Self.signed("/w:50/\(Self.plain("http://origin.test:\(port)/to-photo"))"), method: .get) {
                $0.status
            }
            #expect(followed == .ok)
        }
    }

    @Test func nothingIsFetchedUntilAnOperatorAllowsIt() async throws {
        try await Self.withImageServer({ _ in ["CALOTYPE_ALLOWED_SOURCES": ""] }) { client, port, _ in
            try await client.execute(uri: Self.signed("/w:50/\(Self.plain(Self.photo(port)))"), method: .get) { response in
                let body = try decode(ErrorBody.self, response.body)
                #expect(response.status == .forbidden && body.error.code == "source_not_allowed")
                #expect(body.error.message.contains("CALOTYPE_ALLOWED_SOURCES"))
            }
        }
    }

    // MARK: Origins that fail

    @Test func slowLargeMissingBrokenAndDeadOriginsGetTheirCodes() async throws {
        // A port nothing listens on, nor ever will in this run: a port found
        // free now may be another test's server later, and the process-wide
        // pool of origin connections would keep one to it open (taking a slot
        // of the connection-cap test's server, for one).
        let dead = 1
        try await Self.withImageServer(
            { port in
                // A refused connection is tried again until the connect timeout,
                // then answered 502: within the whole fetch's deadline.
                [
                    "CALOTYPE_SOURCE_TIMEOUT": "3", "CALOTYPE_SOURCE_CONNECT_TIMEOUT": "1",
                    "CALOTYPE_ALLOWED_SOURCES": "http://origin.test:\(port)/,http://origin.test:\(dead)/",
                ]
            },
            configure: { $0.maxImageBytes = 100_000 }
        ) { client, port, _ in
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("http://origin.test:\(port)/slow", .gatewayTimeout, "source_timeout"),
                ("http://origin.test:\(port)/big", .contentTooLarge, "source_too_large"),
                ("http://origin.test:\(port)/missing", .notFound, "source_not_found"),
                ("http://origin.test:\(port)/broken", .badGateway, "source_unreachable"),
                ("http://origin.test:\(dead)/images/photo.jpg", .badGateway, "source_unreachable"),
                ("ftp://origin.test/a.jpg", .badRequest, "invalid_source"),
            ]
            for (source, status, code) in cases {
                try await client.execute(uri: Self.signed("/w:50/\(Self.plain(source))"), method: .get) { response in
                    #expect(response.status == status, "\(source)")
                    #expect(Self.errorCode(response) == code, "\(source)")
                }
            }
        }
    }

    // MARK: Caching

    @Test func aMatchingIfNoneMatchIs304WithoutProcessing() async throws {
        try await Self.withImageServer { client, port, engine in
            let uri = Self.signed("/rs:fill:100:100/\(Self.plain(Self.photo(port)))")
            let first = try await client.execute(uri: uri, method: .get) { $0 }
            let tag = try #require(first.headers[.eTag])
            #expect(first.status == .ok && tag.hasPrefix("\"") && tag.hasSuffix("\""))
            #expect(first.headers[.cacheControl] == "public, max-age=3600")
            #expect(first.headers[.lastModified] == "Tue, 01 Dec 2026 10:00:00 GMT")
            let completed = await engine.scheduler.statistics().lanes.map(\.completed).reduce(0, +)
            for ifNoneMatch in [tag, "W/\(tag)", "\"other\", \(tag)", "*"] {
                try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: ifNoneMatch]) { response in
                    #expect(response.status == .notModified, "\(ifNoneMatch)")
                    #expect(response.headers[.eTag] == tag && response.body.readableBytes == 0)
                }
            }
            #expect(await engine.scheduler.statistics().lanes.map(\.completed).reduce(0, +) == completed, "a 304 runs no job")
            // A stale tag gets the image; other options have another tag.
            #expect(try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: "\"stale\""]) { $0.status } == .ok)
            let other = try await client.execute(uri: Self.signed("/rs:fill:90:90/\(Self.plain(Self.photo(port)))"), method: .get) {
                $0.headers[.eTag]
            }
            #expect(other != nil && other != tag)
            // Another spelling of the same picture has the same tag.
            let respelled = try await client.execute(uri: Self.signed("/resize:fill:100:100:0/\(Self.plain(Self.photo(port)))"), method: .get) {
                $0.headers[.eTag]
            }
            #expect(respelled == tag)
        }
    }

    @Test func withNoFormatTheAcceptHeaderChoosesAndTheAnswerVaries() async throws {
        try await Self.withImageServer { client, port, _ in
            let uri = Self.signed("/w:60/\(Self.plain(Self.photo(port)))")
            // AVIF, then JPEG XL, then WebP, as imgproxy prefers them.
            let cases: [(String?, String)] = [
                (nil, "image/jpeg"),
                ("image/webp,*/*", "image/webp"),
                ("image/avif,image/webp,image/*", "image/avif"),
                ("image/webp,image/jxl", "image/jxl"),
                ("image/jxl,image/avif,image/webp", "image/avif"),
                ("image/webp;q=0, */*", "image/jpeg"),
                ("*/*", "image/jpeg"),
            ]
            var tags: Set<String> = []
            for (accept, type) in cases {
                let headers: HTTPFields = accept.map { [.accept: $0] } ?? [:]
                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                    #expect(response.status == .ok && response.headers[.contentType] == type, "\(accept ?? "no Accept")")
                    #expect(response.headers[.vary] == "Accept")
                    if let tag = response.headers[.eTag] { tags.insert(tag + type) }
                }
            }
            #expect(Set(tags.map { $0.drop { $0 != "i" } }).count == 4, "one tag per format")
        }
    }

    /// An animation negotiates among the formats that animate: a browser
    /// that takes AVIF and WebP gets an animated WebP (AVIF would keep one
    /// frame); a format named in the URL still wins; with no Accept, the
    /// GIF stays an animated GIF.
    @Test func anAnimationIsNegotiatedToAFormatThatAnimates() async throws {
        try await Self.withImageServer { client, port, _ in
            let uri = Self.signed("/w:64/\(Self.plain(Self.photo(port, "animation.gif")))")
            for (accept, type, frames) in [("image/avif,image/webp,*/*", "image/webp", 4), ("image/avif,*/*", "image/gif", 4), ("", "image/gif", 4)] {
                try await client.execute(uri: uri, method: .get, headers: accept.isEmpty ? [:] : [.accept: accept]) { response in
                    #expect(response.status == .ok && response.headers[.contentType] == type, "\(accept)")
                    let size = ImageSize.sniff(Array(buffer: response.body))
                    #expect(size == ImageSize(width: 64, height: 48, frames: frames), "\(accept): \(String(describing: size))")
                }
            }
            let still = Self.signed("/w:64/f:avif/\(Self.plain(Self.photo(port, "animation.gif")))")
            try await client.execute(uri: still, method: .get, headers: [.accept: "image/webp"]) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/avif", "the URL's format wins: its first frame")
            }
        }
    }

    @Test func negotiationCanBeTurnedOff() async throws {
        try await Self.withImageServer({ _ in ["CALOTYPE_IMG_NEGOTIATE": "none", "CALOTYPE_IMG_MAX_AGE": "60"] }) { client, port, _ in
            try await client.execute(uri: Self.signed("/w:60/\(Self.plain(Self.photo(port)))"), method: .get, headers: [.accept: "image/webp"]) {
                response in
                #expect(response.headers[.contentType] == "image/jpeg" && response.headers[.cacheControl] == "public, max-age=60")
            }
        }
    }

    // MARK: Other sources

    @Test func localSourcesAreReadUnderTheRootOnly() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-local-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data(Fixtures.bytes("photo.jpg")).write(to: root.appendingPathComponent("in/photo.jpg"))
        // A link that points out of the root must not be followed out.
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("in/escape.jpg").path,
            withDestinationPath: Fixtures.folder.appendingPathComponent("alpha.png").path
        )
        try await Self.withImageServer({ _ in ["CALOTYPE_ALLOWED_SOURCES": "local:///in/", "CALOTYPE_LOCAL_SOURCES_ROOT": root.path] }) {
            client,
            _,
            _ in
            let cases: [(String, HTTPResponse.Status, String?)] = [
                ("local:///in/photo.jpg", .ok, nil),
                ("local:///in/nothing.jpg", .notFound, "source_not_found"),
                ("local:///in/escape.jpg", .forbidden, "source_not_allowed"),
                ("local:///in/../in/photo.jpg", .badRequest, "invalid_source"),
                ("local:///etc/passwd", .forbidden, "source_not_allowed"),
            ]
            for (source, status, code) in cases {
                try await client.execute(uri: Self.signed("/w:50/\(Self.plain(source))"), method: .get) { response in
                    #expect(response.status == status, "\(source)")
                    if let code { #expect(Self.errorCode(response) == code, "\(source)") }
                }
            }
        }
    }

    @Test func s3SourcesAreReadFromTheBucket() async throws {
        let (s3, bucket, endpoint) = try await S3SaveTests.bucket()
        try await s3.put(bucket: bucket, key: "in/photo.jpg", bytes: try Fixtures.bytes("photo.jpg"), contentType: "image/jpeg")
        try await Self.withImageServer({ _ in
            [
                "CALOTYPE_ALLOWED_SOURCES": "s3://\(bucket)/in/", "AWS_ENDPOINT_URL_S3": endpoint.absoluteString,
                "AWS_ACCESS_KEY_ID": SeaweedFS.accessKeyID, "AWS_SECRET_ACCESS_KEY": SeaweedFS.secretAccessKey,
            ]
        }) { client, port, _ in
            let fromS3 = try await client.execute(uri: Self.signed("/w:50/\(Self.plain("s3://\(bucket)/in/photo.jpg"))"), method: .get) {
                ($0.status, Array($0.body.readableBytesView))
            }
            #expect(fromS3.0 == .ok && !fromS3.1.isEmpty)
            let missing = try await client.execute(uri: Self.signed("/w:50/\(Self.plain("s3://\(bucket)/in/nothing.jpg"))"), method: .get) { $0 }
            #expect(missing.status == .notFound && (Self.errorCode(missing)) == "source_not_found")
            let unlisted = try await client.execute(uri: Self.signed("/w:50/\(Self.plain("s3://\(bucket)/out/photo.jpg"))"), method: .get) { $0 }
            #expect(unlisted.status == .forbidden)
        }
    }

    // MARK: The endpoint among the others

    @Test func itIsItsOwnEndpointInStatsAndTakesGetAndHeadOnly() async throws {
        try await Self.withImageServer { client, port, _ in
            let uri = Self.signed("/w:50/\(Self.plain(Self.photo(port)))")
            #expect(try await client.execute(uri: uri, method: .get) { $0.status } == .ok)
            try await client.execute(uri: uri, method: .head) { response in
                #expect(response.status == .ok && response.headers[.eTag] != nil)
            }
            try await client.execute(uri: uri, method: .post) { response in
                #expect(response.status == .methodNotAllowed && response.headers[.allow]?.contains("GET") == true)
            }
            let stats = try await client.execute(uri: "/stats", method: .get) { String(buffer: $0.body) }
            #expect(stats.contains("\"/img\""))
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("calotype_images_total{endpoint=\"/img\"}"))
        }
    }
}
