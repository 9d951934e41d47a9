import Foundation
import TestSupport
import Testing

/// `calotype migrate` against a real PostgreSQL, as a deploy step runs it.
@Suite("calotype migrate", .timeLimit(.minutes(2)))
struct MigrateCommandTests {
    @Test func appliesTheSchemaOnceThenSaysItIsCurrent() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = ["CALOTYPE_DATABASE_URL": try await PostgreSQLServer.shared().newDatabase() + "?sslmode=disable"]
        let first = try await CLI.run(["migrate"], in: folder, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("applied versions 1, 2, 3"))
        let second = try await CLI.run(["migrate"], in: folder, environment: environment)
        #expect(second.status == 0 && second.stdout.hasPrefix("the schema is current"))
    }

    @Test func withoutADatabaseOrWithOneUnreachableItSaysSo() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let unset = try await CLI.run(["migrate"], in: folder, environment: ["CALOTYPE_DATABASE_URL": ""])
        #expect(unset.status == 64 && unset.stderr.contains("CALOTYPE_DATABASE_URL"))
        let malformed = try await CLI.run(["migrate"], in: folder, environment: ["CALOTYPE_DATABASE_URL": "mysql://u@h/db"])
        #expect(malformed.status == 64 && malformed.stderr.contains("postgres://"))
        // A port nothing listens on; the password never appears in the message.
        let port = try #require(SeaweedFS.freePorts(1).first)
        let dead = try await CLI.run(
            ["migrate"],
            in: folder,
            environment: ["CALOTYPE_DATABASE_URL": "postgres://calotype:hunter2@127.0.0.1:\(port)/db?sslmode=disable"]
        )
        #expect(dead.status == 1 && dead.stderr.contains("127.0.0.1:\(port)") && !dead.stderr.contains("hunter2"))
    }
}
