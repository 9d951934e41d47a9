import ArgumentParser
import CalotypeApp

/// `--env-file` and `--config`, on every subcommand that reads settings:
/// each reads them the same way (`SettingsFiles`), flags over the
/// environment over `.env` over the config file over the secrets folder.
struct SettingsOptions: ParsableArguments {
    @Option(help: "A .env file of settings (variables already set win over it).")
    var envFile = ".env"

    @Option(help: "A JSON file of settings by name ({\"CALOTYPE_PORT\": 9000}); the environment and .env win over it.")
    var config: String?

    /// The settings, or a usage error that names the one that is wrong.
    func load(flags: [String: String] = [:]) async throws -> Settings {
        do {
            return try await SettingsFiles(envFile: envFile, configFile: config).load(flags: flags)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
