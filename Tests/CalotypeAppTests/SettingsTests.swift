import CalotypeApp
import CalotypeCore
import Foundation
import Server
import Testing

/// Where `calotype serve` reads its settings from, and in which order.
@Suite("Settings")
struct SettingsTests {
    /// A folder of its own with a `.env`, a config file and a secrets folder.
    struct Sources {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-settings-\(UUID().uuidString)")
        var envFile: URL { folder.appendingPathComponent(".env") }
        var configFile: URL { folder.appendingPathComponent("calotype.json") }
        var secrets: URL { folder.appendingPathComponent("secrets") }

        init() throws {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("secrets"), withIntermediateDirectories: true)
        }

        func write(_ text: String, to file: URL) throws {
            try Data(text.utf8).write(to: file)
        }

        func load(flags: [String: String] = [:], environment: [String: String] = [:]) async throws -> Settings {
            try await Settings.load(
                flags: flags,
                environment: environment.merging(["CALOTYPE_SECRETS_DIR": secrets.path]) { $1 },
                envFile: envFile,
                configFile: FileManager.default.fileExists(atPath: configFile.path) ? configFile : nil
            )
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    @Test func flagsWinOverTheEnvironmentOverDotEnvOverTheConfigFileOverSecretsOverDefaults() async throws {
        let sources = try Sources()
        defer { sources.remove() }
        func port() async throws -> Int {
            try ServerConfiguration.read(from: try await sources.load(flags: flags, environment: environment)).port
        }
        var flags = ["CALOTYPE_PORT": "1001"]
        var environment = ["CALOTYPE_PORT": "1002"]
        try sources.write("CALOTYPE_PORT=1003\n", to: sources.envFile)
        try sources.write(#"{"CALOTYPE_PORT": 1004}"#, to: sources.configFile)
        try sources.write("1005\n", to: sources.secrets.appendingPathComponent("CALOTYPE_PORT"))
        #expect(try await port() == 1001)
        flags = [:]
        #expect(try await port() == 1002)
        environment = [:]
        #expect(try await port() == 1003)
        try FileManager.default.removeItem(at: sources.envFile)
        #expect(try await port() == 1004)
        try FileManager.default.removeItem(at: sources.configFile)
        #expect(try await port() == 1005)
        try FileManager.default.removeItem(at: sources.secrets.appendingPathComponent("CALOTYPE_PORT"))
        #expect(try await port() == ServerConfiguration().port)
    }

    @Test func aConfigFileTakesNumbersBooleansAndStrings() async throws {
        let sources = try Sources()
        defer { sources.remove() }
        try sources.write(
            #"{"CALOTYPE_MAX_FILES": 5, "ENABLE_PARALLEL": false, "CALOTYPE_HOST": "0.0.0.0", "CALOTYPE_LOG_LEVEL": "debug"}"#,
            to: sources.configFile
        )
        let settings = try await sources.load()
        let server = try ServerConfiguration.read(from: settings)
        #expect(server.maxFilesPerBatch == 5 && !server.parallelEnabled && server.host == "0.0.0.0" && server.logLevel == .debug)
        try settings.checkConfigFileNames()
    }

    /// A misspelt name in the config file is an error, not silently nothing;
    /// so is an unusable value, wherever it comes from, by the setting's name.
    @Test func unknownNamesAndUnusableValuesAreErrorsThatNameTheSetting() async throws {
        let sources = try Sources()
        defer { sources.remove() }
        try sources.write(#"{"CALOTYPE_PROT": 9000}"#, to: sources.configFile)
        let settings = try await sources.load()
        _ = try ServerConfiguration.read(from: settings)
        _ = try Engine.Configuration.read(from: settings)
        #expect { try settings.checkConfigFileNames() } throws: { ($0 as? ConfigurationError)?.variable == "CALOTYPE_PROT" }

        try sources.write(#"{"CALOTYPE_MAX_FILES": "many"}"#, to: sources.configFile)
        let fromFile = try await sources.load()
        #expect { try ServerConfiguration.read(from: fromFile) } throws: { ($0 as? ConfigurationError)?.variable == "CALOTYPE_MAX_FILES" }

        try sources.write("lots", to: sources.secrets.appendingPathComponent("CALOTYPE_CPU_WORKERS"))
        let fromSecrets = try await sources.load()
        #expect { try Engine.Configuration.read(from: fromSecrets) } throws: { ($0 as? ConfigurationError)?.variable == "CALOTYPE_CPU_WORKERS" }

        // A preset is read as a URL's options would be, when the server starts.
        for (presets, valid) in [
            ("thumb=rs:fill:100:100/q:60", true), ("thumb=gradient:0.5", false), ("thumb=w:99999", false), ("thumb=w:10/plain/x", false),
        ] {
            try sources.write(#"{"CALOTYPE_PRESETS": "\#(presets)"}"#, to: sources.configFile)
            let withPresets = try await sources.load()
            if valid {
                #expect(try ServerConfiguration.read(from: withPresets).imageURLs.presets == ["thumb": "rs:fill:100:100/q:60"])
            } else {
                #expect("\(presets)") { try ServerConfiguration.read(from: withPresets) } throws: {
                    ($0 as? ConfigurationError)?.variable == "CALOTYPE_PRESETS"
                }
            }
        }
    }

    /// A `.env` file configures without being exported: the process
    /// environment stays as it was.
    @Test func aDotEnvFileIsReadNotExported() async throws {
        let sources = try Sources()
        defer { sources.remove() }
        try sources.write("CALOTYPE_PORT=9100\nCALOTYPE_HOST=10.1.2.3\nCALOTYPE_DOTENV_PROBE=1\n", to: sources.envFile)
        let settings = try await sources.load(environment: ["CALOTYPE_HOST": "127.0.0.2"])
        let server = try ServerConfiguration.read(from: settings)
        #expect(server.port == 9100 && server.host == "127.0.0.2")
        #expect(ProcessInfo.processInfo.environment["CALOTYPE_DOTENV_PROBE"] == nil)
    }

    /// The watermark is a regular image file of at most 8 MiB, read at
    /// start; anything else stops the server with the setting's name.
    @Test func theWatermarkIsAnImageFileReadAtStart() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
        let png = fixtures.appendingPathComponent("alpha.png")
        let read = try Engine.Configuration.read(from: Settings(environment: ["CALOTYPE_WATERMARK_PATH": png.path]))
        #expect(read.watermark?.bytes == [UInt8](try Data(contentsOf: png)) && read.watermark?.name == "alpha.png")
        for path in ["/nonexistent/mark.png", fixtures.path, "/dev/zero"] {
            #expect {
                try Engine.Configuration.read(from: Settings(environment: ["CALOTYPE_WATERMARK_PATH": path]))
            } throws: { ($0 as? ConfigurationError)?.variable == "CALOTYPE_WATERMARK_PATH" }
        }
        // A file that is not an image: the engine does not start.
        var configuration = try Engine.Configuration.read(
            from: Settings(environment: ["CALOTYPE_WATERMARK_PATH": fixtures.appendingPathComponent("make-fixtures.sh").path])
        )
        configuration.useGPU = false
        #expect(throws: ProcessingError.self) { try Engine(configuration) }
    }
}
