import Foundation
import Testing

/// Every subcommand reads its settings the same way `serve` does: the
/// environment, `.env`, `--config` and the secrets folder
/// (`CALOTYPE_SECRETS_DIR`). A setting that only `serve` honoured (a worker
/// count in `.env`, a signing key in `/run/secrets`) was ignored by the others.
@Suite("Settings: one reading for every subcommand", .timeLimit(.minutes(2)))
struct SettingsEverywhereTests {
    static let key = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
    static let salt = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
    static let signArguments = ["sign", "http://example.com/images/curiosity.jpg", "--options", "rs:fill:300:400:0/g:sm", "--extension", "png"]
    /// Made with Python's hmac over the same path (as `SignCommandTests`).
    static let signedPath =
        "/img/4e9HplX3xN8DgbCf3GPatgfy42W8pLOfGHxXdnPxeHw/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1wbGUuY29tL2ltYWdlcy9jdXJpb3NpdHkuanBn.png\n"

    @Test func signReadsItsKeyFromDotEnvAndFromTheSecretsFolder() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "CALOTYPE_SIGNING_KEY=\(Self.key)\nCALOTYPE_SIGNING_SALT=\(Self.salt)\n".write(
            to: folder.appendingPathComponent(".env"),
            atomically: true,
            encoding: .utf8
        )
        let fromDotEnv = try await CLI.run(Self.signArguments, in: folder)
        #expect(fromDotEnv.status == 0 && fromDotEnv.stdout == Self.signedPath, "\(fromDotEnv.stderr)")

        let secrets = folder.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        try Self.key.write(to: secrets.appendingPathComponent("CALOTYPE_SIGNING_KEY"), atomically: true, encoding: .utf8)
        try Self.salt.write(to: secrets.appendingPathComponent("CALOTYPE_SIGNING_SALT"), atomically: true, encoding: .utf8)
        let fromSecrets = try await CLI.run(
            Self.signArguments + ["--env-file", "none.env"],
            in: folder,
            environment: ["CALOTYPE_SECRETS_DIR": secrets.path]
        )
        #expect(fromSecrets.status == 0 && fromSecrets.stdout == Self.signedPath, "\(fromSecrets.stderr)")
    }

    /// A setting no command can use, written where each place is read: the
    /// command refuses it by name, which it can only do if it read it there.
    @Test(arguments: [
        ["process", "photo.jpg", "-o", "out.png", "--width", "10"],
        ["devices"],
        ["bench", "--generate", "1", "--rounds", "1"],
    ])
    func processDevicesAndBenchReadDotEnvConfigAndSecrets(_ command: [String]) async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: CLI.fixtures.appendingPathComponent("photo.jpg"),
            to: folder.appendingPathComponent("photo.jpg")
        )

        try "CALOTYPE_CPU_WORKERS=lots\n".write(to: folder.appendingPathComponent("settings.env"), atomically: true, encoding: .utf8)
        let fromDotEnv = try await CLI.run(command + ["--env-file", "settings.env"], in: folder)
        #expect(fromDotEnv.status == 64 && fromDotEnv.stderr.contains("CALOTYPE_CPU_WORKERS"), "\(command): \(fromDotEnv.stderr)")

        try #"{"CALOTYPE_CPU_WORKERS": "lots"}"#.write(to: folder.appendingPathComponent("settings.json"), atomically: true, encoding: .utf8)
        let fromConfig = try await CLI.run(command + ["--config", "settings.json", "--env-file", "none.env"], in: folder)
        #expect(fromConfig.status == 64 && fromConfig.stderr.contains("CALOTYPE_CPU_WORKERS"), "\(command): \(fromConfig.stderr)")

        let secrets = folder.appendingPathComponent("secrets")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        try "lots".write(to: secrets.appendingPathComponent("CALOTYPE_CPU_WORKERS"), atomically: true, encoding: .utf8)
        let fromSecrets = try await CLI.run(
            command + ["--env-file", "none.env"],
            in: folder,
            environment: ["CALOTYPE_SECRETS_DIR": secrets.path]
        )
        #expect(fromSecrets.status == 64 && fromSecrets.stderr.contains("CALOTYPE_CPU_WORKERS"), "\(command): \(fromSecrets.stderr)")
    }
}
