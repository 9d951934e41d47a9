import CalotypeApp
import Foundation
import HummingbirdTesting
import Server
import TestSupport
import Testing

/// Requests as browsers send them, over raw sockets so that every header
/// (Host, Origin, Sec-Fetch-Site) is exactly a browser's.
@Suite("Cross-site requests and host names", .timeLimit(.minutes(2)))
struct CrossSiteTests {
    /// A one-file batch upload, as a form on a page would post it.
    static func formPost(_ path: String, host: String, headers: [String]) -> [UInt8] {
        let boundary = "----formboundary7MA4YWxk"
        let body =
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nnot an image\r\n--\(boundary)--\r\n"
        let head =
            ([
                "POST \(path) HTTP/1.1", "Host: \(host)", "Content-Type: multipart/form-data; boundary=\(boundary)",
                "Content-Length: \(body.utf8.count)", "Connection: close",
            ] + headers)
            .joined(separator: "\r\n")
        return Array((head + "\r\n\r\n" + body).utf8)
    }

    static func request(_ method: String, _ path: String, host: String, headers: [String] = []) -> [UInt8] {
        Array(([method + " \(path) HTTP/1.1", "Host: \(host)", "Connection: close"] + headers).joined(separator: "\r\n").appending("\r\n\r\n").utf8)
    }

    static func exchange(_ bytes: [UInt8], port: Int) async throws -> String {
        let connection = try TCPConnection(port: port)
        defer { connection.close() }
        await connection.send(bytes)
        return await connection.read(until: "\u{0}never")
    }

    static func withPolicy(_ environment: [String: String], _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let read = try ServerConfiguration.read(from: Settings(environment: environment))
        try await withServer(configure: { $0.crossSite = read.crossSite }) { client, _ in
            try await body(try #require(client.port))
        }
    }

    @Test func aCrossSiteFormPostIsRefusedOnAnOpenServer() async throws {
        try await Self.withPolicy([:]) { port in
            let host = "127.0.0.1:\(port)"
            // As Chromium sends a form posted from another site's page.
            let browser = ["Origin: https://evil.example", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"]
            for headers in [browser, ["Origin: https://evil.example"], ["Sec-Fetch-Site: cross-site"], ["Origin: null"]] {
                let answer = try await Self.exchange(Self.formPost("/batches", host: host, headers: headers), port: port)
                #expect(statusCode(of: answer) == 403 && answer.contains(#""code":"cross_site""#), "\(headers): \(answer.prefix(300))")
            }
            let delete = try await Self.exchange(
                Self.request("DELETE", "/batches/x", host: host, headers: ["Origin: https://evil.example"]),
                port: port
            )
            #expect(statusCode(of: delete) == 403)
            // The server's own page, and clients that are not browsers, post as before.
            for headers in [["Origin: http://\(host)", "Sec-Fetch-Site: same-origin"], []] {
                let answer = try await Self.exchange(Self.formPost("/batches", host: host, headers: headers), port: port)
                #expect(statusCode(of: answer) == 202, "\(headers): \(answer.prefix(300))")
            }
            // Reading is not refused, and gets no CORS headers.
            let read = try await Self.exchange(Self.request("GET", "/health", host: host, headers: ["Origin: https://evil.example"]), port: port)
            #expect(statusCode(of: read) == 200 && !read.lowercased().contains("access-control-allow-origin"))
        }
    }

    @Test func anAllowedOriginGetsCorsAndItsPreflightAnswered() async throws {
        try await Self.withPolicy(["CALOTYPE_CORS_ORIGINS": "https://app.example, http://localhost:3000"]) { port in
            let host = "127.0.0.1:\(port)"
            let preflight = try await Self.exchange(
                Self.request(
                    "OPTIONS",
                    "/batches",
                    host: host,
                    headers: ["Origin: https://app.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization"]
                ),
                port: port
            )
            #expect(statusCode(of: preflight) == 204, "\(preflight)")
            let lower = preflight.lowercased()
            #expect(lower.contains("access-control-allow-origin: https://app.example"))
            #expect(lower.contains("access-control-allow-headers: authorization, content-type"))
            #expect(lower.contains("access-control-allow-methods: get, head, post, delete"))
            let refused = try await Self.exchange(
                Self.request("OPTIONS", "/batches", host: host, headers: ["Origin: https://evil.example", "Access-Control-Request-Method: POST"]),
                port: port
            )
            #expect(statusCode(of: refused) == 403)
            let post = try await Self.exchange(
                Self.formPost(
                    "/batches",
                    host: host,
                    headers: ["Origin: https://app.example", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: cors"]
                ),
                port: port
            )
            #expect(statusCode(of: post) == 202, "\(post.prefix(300))")
            #expect(post.lowercased().contains("access-control-allow-origin: https://app.example"))
            #expect(post.lowercased().contains("access-control-expose-headers: location"))
            // OPTIONS that is not a preflight is what it was: 405.
            let options = try await Self.exchange(Self.request("OPTIONS", "/batches", host: host), port: port)
            #expect(statusCode(of: options) == 405)
        }
    }

    @Test func onlyTheListedHostNamesAreAnsweredButProbesAlwaysAre() async throws {
        try await Self.withPolicy(["CALOTYPE_ALLOWED_HOSTS": "images.example.com, localhost"]) { port in
            for (host, status) in [
                ("images.example.com", 200), ("IMAGES.example.com:443", 200), ("localhost:\(port)", 200), ("rebind.attacker.example", 421),
                ("127.0.0.1:\(port)", 421),
            ] {
                let answer = try await Self.exchange(Self.request("GET", "/openapi.json", host: host), port: port)
                #expect(statusCode(of: answer) == status, "\(host)")
                if status == 421 { #expect(answer.contains(#""code":"host_not_allowed""#)) }
            }
            for path in ["/health", "/ready"] {
                let answer = try await Self.exchange(Self.request("GET", path, host: "10.1.2.3:\(port)"), port: port)
                #expect(statusCode(of: answer) == 200, "\(path)")
            }
        }
    }

    @Test func unusableSettingsAreRefusedByName() {
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_CORS_ORIGINS": "https://app.example/path"]))
        }
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_CORS_ORIGINS": "app.example"]))
        }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.read(from: Settings(environment: ["CALOTYPE_ALLOWED_HOSTS": " , "])) }
    }

    @Test func theConsoleRunsOnlyItsOwnScriptAndIsFramedByNoPage() async throws {
        try await withServer { client, _ in
            try await client.execute(uri: "/", method: .get) { response in
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"))
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
            try await client.execute(uri: "/console.js", method: .get) { #expect($0.headers[.xContentTypeOptions] == "nosniff") }
        }
    }
}
