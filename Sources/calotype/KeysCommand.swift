import ArgumentParser
import CalotypeApp
import Foundation

/// `calotype keys`: API keys for the keys file (`CALOTYPE_API_KEYS_FILE`).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make API keys for the keys file (CALOTYPE_API_KEYS_FILE).",
        subcommands: [New.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new",
            abstract: "Print a new API key (once) and the entry for the keys file, which keeps only its SHA-256.",
            discussion: """
                Standard output has two lines: the key, then the entry to add to the file's "keys" list.
                Example: calotype keys new web --scopes process,batches --rate 20 --max-in-flight 8
                Scopes: process (POST /process, unsigned GET /img), batches (every batch endpoint, for the \
                tenant's own batches), metrics (/metrics, /stats, /cluster), admin (everything, every tenant's batches).
                """
        )

        @Argument(help: "The tenant's name (letters, digits, '.', '_', '-'); a tenant may have several keys.")
        var name: String

        @Option(help: "Comma-separated scopes: process, batches, metrics, admin.")
        var scopes: String

        @Option(help: "Requests a second the tenant may make (a token bucket; more get 429).")
        var rate: Double?

        @Option(help: "Jobs the tenant may have running at once.")
        var maxInFlight: Int?

        func run() throws {
            let scopeList = scopes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let made: NewAPIKey
            do {
                made = try NewAPIKey(name: name, scopes: scopeList, rate: rate, maxInFlight: maxInFlight)
            } catch {
                throw ValidationError("the keys file would refuse this entry: it \(error)")
            }
            print(made.key)
            print(made.entry)
            FileHandle.standardError.write(
                Data("The key is shown once: give it to \(name), who sends `Authorization: Bearer <key>`. Add the entry to the keys file.\n".utf8)
            )
        }
    }
}
