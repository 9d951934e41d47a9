import ArgumentParser
import CalotypeApp
import Foundation
import Logging

/// `calotype migrate`: applies cluster mode's schema to the database of
/// `CALOTYPE_DATABASE_URL` and exits (nodes also apply it when they start;
/// this is for a deploy step that runs before them).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply cluster mode's database schema (CALOTYPE_DATABASE_URL) and exit.",
        discussion: """
            Safe to run beside starting nodes: migrations are applied once, in order, under an advisory lock.
            Exits 0 when the schema is current (saying which versions it applied), 1 when the database cannot be
            reached or its schema is newer than this build's.
            """
    )

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    func run() async throws {
        let cluster: ClusterSettings
        do {
            let settings = try await settingsOptions.load()
            guard let read = try ClusterSettings.read(from: settings, requireSharedResults: false) else {
                throw ValidationError("set CALOTYPE_DATABASE_URL (postgres://user@host:port/database) to migrate")
            }
            cluster = read
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
        let applied: [Int]
        do {
            applied = try await cluster.migrate(logger: Logger(label: "calotype.migrate"))
        } catch {
            FileHandle.standardError.write(Data("error: migrating \(cluster.redactedDatabaseURL) failed: \(ClusterSettings.describe(error))\n".utf8))
            throw ExitCode(1)
        }
        if applied.isEmpty {
            print("the schema is current (version \(ClusterSettings.schemaVersion))")
        } else {
            print(
                "applied version\(applied.count == 1 ? "" : "s") \(applied.map(String.init).joined(separator: ", ")); the schema is at \(ClusterSettings.schemaVersion)"
            )
        }
    }
}
