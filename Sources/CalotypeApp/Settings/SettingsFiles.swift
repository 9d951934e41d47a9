import Foundation

/// Where every subcommand's settings come from besides its flags: the
/// environment, a `.env` file, a `--config` JSON file and the secrets folder
/// (`CALOTYPE_SECRETS_DIR`, default `/run/secrets`), in that order of
/// precedence. One reading for `serve`, `process`, `bench`, `devices`,
/// `sign` and `migrate`, so that a worker count in `.env` or a signing key
/// in the secrets folder means the same to each.
public struct SettingsFiles: Sendable {
    public var envFile: URL
    public var configFile: URL?

    public init(envFile: String = ".env", configFile: String? = nil) {
        self.envFile = URL(fileURLWithPath: envFile)
        self.configFile = configFile.map { URL(fileURLWithPath: $0) }
    }

    /// The settings, `flags` over everything else. (`serve`, which reads
    /// every setting, then refuses names in the config file that none has:
    /// `Settings.checkConfigFileNames`.)
    public func load(flags: [String: String] = [:]) async throws(ConfigurationError) -> Settings {
        let settings: Settings
        do {
            settings = try await Settings.load(
                flags: flags,
                environment: ProcessInfo.processInfo.environment,
                envFile: envFile,
                configFile: configFile
            )
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(variable: configFile == nil ? ".env" : "--config", value: "\(error)", allowed: "a readable file")
        }
        return settings
    }
}
