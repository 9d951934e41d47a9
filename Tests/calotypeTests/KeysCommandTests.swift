import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `calotype keys new`, then `calotype serve` with the key it made, as an
/// operator would run them.
@Suite("calotype keys", .timeLimit(.minutes(2)))
struct KeysCommandTests {
    @Test func aNewKeyOpensWhatItsScopesAllowOnAServedKeysFile() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let made = try await CLI.run(["keys", "new", "ops", "--scopes", "metrics", "--rate", "50"], in: folder)
        #expect(made.status == 0, "\(made.stderr)")
        let lines = made.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(made.stdout)")
        let (key, entry) = (lines[0], lines[1])
        #expect(key.hasPrefix("cal_") && !entry.contains(key))
        #expect(made.stderr.contains("shown once"))
        let file = folder.appendingPathComponent("keys.json")
        try Data(#"{"keys": [\#(entry)]}"#.utf8).write(to: file)

        let log = folder.appendingPathComponent("serve.log")
        let (process, port) = try await ServerProcess.start(
            in: folder,
            environment: ["CALOTYPE_GPU": "off", "CALOTYPE_API_KEYS_FILE": file.path],
            log: log
        )
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        func get(_ path: String, key: String?) async -> String {
            let authorization = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
            return await HostileLoadTests.exchange(
                Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(authorization)Connection: close\r\n\r\n".utf8),
                port: port
            )
        }
        #expect(statusCode(of: await get("/stats", key: nil)) == 401)
        #expect(statusCode(of: await get("/stats", key: key)) == 200)
        #expect(statusCode(of: await get("/process", key: key)) == 405)  // a known path, wrong method: before any key is read
        #expect(statusCode(of: await get("/batches/none", key: key)) == 403)
        #expect(statusCode(of: await get("/health", key: nil)) == 200)
        let said = try String(contentsOf: log, encoding: .utf8)
        #expect(said.contains("requests need an API key (1 tenant: ops)"), "\(said)")
    }

    @Test func anEntryTheFileWouldRefuseIsNotMade() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await CLI.run(["keys", "new", "ops", "--scopes", "metrics,everything"], in: folder)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("'everything' is not a scope"), "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
    }

    @Test func anOpenServerSaysSoWhenItStarts() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("serve.log")
        let (process, _) = try await ServerProcess.start(in: folder, environment: ["CALOTYPE_GPU": "off"], log: log)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let said = try String(contentsOf: log, encoding: .utf8)
        #expect(said.contains("the server is open"), "\(said)")
    }
}
