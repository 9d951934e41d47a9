import Configuration
import Foundation
import NIOConcurrencyHelpers

/// Calotype's settings as `calotype` reads them, once, at start: through
/// swift-configuration's `ConfigReader` over its sources, highest first:
///
/// 1. command-line flags (`serve --port`, ...);
/// 2. the environment;
/// 3. a `.env` file (`KEY=value` lines, as shells write them);
/// 4. a JSON config file (`--config`): one object of settings by name,
///    `{"CALOTYPE_PORT": 9000, "ENABLE_PARALLEL": false}`;
/// 5. a secrets folder (`CALOTYPE_SECRETS_DIR`, default `/run/secrets`,
///    where containers mount them): a file per setting, named as the
///    setting, holding its value; its values are never logged;
/// 6. the defaults in code.
///
/// Every source speaks the same names (`env.example` lists them) and gives
/// text, which one parser per kind turns into values, so that an unusable
/// value is the same error, naming the setting, wherever it came from.
public final class Settings: Sendable {
    private let reader: ConfigReader
    /// The config file's names, to refuse the ones no setting has (a typo
    /// there would otherwise be silently ignored).
    private let configFileNames: Set<String>
    private let namesRead = NIOLockedValueBox<Set<String>>([])

    private init(reader: ConfigReader, configFileNames: Set<String>) {
        self.reader = reader
        self.configFileNames = configFileNames
    }

    /// Settings from these variables alone (tests, and `fromEnvironment`).
    public convenience init(environment: [String: String]) {
        self.init(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)), configFileNames: [])
    }

    /// Settings from every source, `environment` being the process's.
    public static func load(
        flags: [String: String] = [:],
        environment: [String: String],
        envFile: URL? = nil,
        configFile: URL? = nil
    ) async throws -> Settings {
        var dotEnv: [String: String] = [:]
        if let envFile, FileManager.default.fileExists(atPath: envFile.path) {
            dotEnv = DotEnv.parse(try String(contentsOf: envFile, encoding: .utf8))
        }
        let fileSettings = try configFile.map(ConfigFile.read) ?? [:]
        let secrets = environment["CALOTYPE_SECRETS_DIR"] ?? dotEnv["CALOTYPE_SECRETS_DIR"] ?? fileSettings["CALOTYPE_SECRETS_DIR"] ?? "/run/secrets"
        let providers: [any ConfigProvider] = [
            EnvironmentVariablesProvider(environmentVariables: flags),
            EnvironmentVariablesProvider(environmentVariables: environment),
            EnvironmentVariablesProvider(environmentVariables: dotEnv),
            EnvironmentVariablesProvider(environmentVariables: fileSettings),
            try await DirectoryFilesProvider(directoryPath: .init(secrets), allowMissing: true),
        ]
        return Settings(reader: ConfigReader(providers: providers), configFileNames: Set(fileSettings.keys))
    }

    /// The setting's text, if any source has a non-empty one.
    public func string(_ name: String) -> String? {
        namesRead.withLockedValue { _ = $0.insert(name) }
        let value = reader.string(forKey: ConfigKey([name]))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A setting whose value must not be logged (a credential).
    public func secret(_ name: String) -> String? {
        namesRead.withLockedValue { _ = $0.insert(name) }
        let value = reader.string(forKey: ConfigKey([name]), isSecret: true)?.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.flatMap { $0.isEmpty ? nil : $0 }
    }

    public func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(variable: name, value: text, allowed: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// true/1/yes/on (and auto) or false/0/no/off.
    public func flag(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on", "auto": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, value: text, allowed: "true or false (on or off)")
        }
    }

    /// Refuses a config file that names a setting nothing read: call it
    /// once every configuration has been read.
    public func checkConfigFileNames() throws(ConfigurationError) {
        let unknown = configFileNames.subtracting(namesRead.withLockedValue { $0 }.union(["CALOTYPE_SECRETS_DIR"]))
        if let name = unknown.sorted().first {
            throw ConfigurationError(variable: name, value: "(in the config file)", allowed: "a setting env.example lists")
        }
    }
}

/// The JSON config file: one object whose members are settings by name,
/// with string, number or boolean values.
enum ConfigFile {
    static func read(_ file: URL) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: Scalar].self, from: Data(contentsOf: file)).mapValues(\.text)
        } catch let error as DecodingError {
            throw ConfigurationError(
                variable: file.path,
                value: "\(error)",
                allowed: "a JSON object of settings by name, each a string, a number or a boolean"
            )
        }
    }

    /// A member's value, as the text the other sources would have given.
    struct Scalar: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let flag = try? value.decode(Bool.self) {
                text = flag ? "true" : "false"
            } else if let integer = try? value.decode(Int.self) {
                text = String(integer)
            } else if let number = try? value.decode(Double.self) {
                text = String(number)
            } else {
                text = try value.decode(String.self)
            }
        }
    }
}
