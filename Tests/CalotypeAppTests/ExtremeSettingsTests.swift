import CalotypeApp
import Foundation
import Server
import Testing

/// Every number a setting may hold comes from outside (the environment, a
/// `.env`, a config file, a secret) and may be anything: each numeric
/// setting, at every extreme, is either taken within its range or refused
/// with an error naming it, never turned into a trap (a Swift overflow ends
/// the process) by a multiplication or a shift.
@Suite("Settings at their extremes")
struct ExtremeSettingsTests {
    static let extremes = [
        "0", "-1", "1", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
        "99999999999999999999999", "1e300", "nan", "",
    ]

    /// The settings `env.example` shows with a number: every numeric one.
    static func numericSettings() throws -> [String] {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("env.example")
        let lines = try String(contentsOf: example, encoding: .utf8).split(separator: "\n")
        return lines.compactMap { line -> String? in
            let text = line.hasPrefix("#") ? line.dropFirst() : line[...]
            guard let equals = text.firstIndex(of: "="), text.hasPrefix("CALOTYPE_") else { return nil }
            let value = text[text.index(after: equals)...]
            return !value.isEmpty && value.allSatisfy(\.isNumber) ? String(text[..<equals]) : nil
        }
    }

    @Test func everyNumericSettingAtEveryExtremeIsTakenOrRefusedByName() async throws {
        let names = try Self.numericSettings()
        #expect(names.count >= 20, "env.example lists the numeric settings: \(names)")
        for name in names {
            for value in Self.extremes {
                // Cluster mode's settings are read only with a database named.
                let environment = [name: value, "CALOTYPE_DATABASE_URL": "postgres://calotype@127.0.0.1:5432/calotype"]
                let settings = try await Settings.load(flags: [:], environment: environment, envFile: nil, configFile: nil)
                for read in Self.readers {
                    do {
                        try read(settings)
                    } catch let error as ConfigurationError {
                        #expect(error.variable == name, "\(name)=\(value) refused as \(error.variable): \(error)")
                    }
                }
            }
        }
    }

    static let readers: [@Sendable (Settings) throws -> Void] = [
        { _ = try Engine.Configuration.read(from: $0) },
        { _ = try ServerConfiguration.read(from: $0) },
        { _ = try ClusterSettings.read(from: $0, requireSharedResults: false) },
    ]
}
