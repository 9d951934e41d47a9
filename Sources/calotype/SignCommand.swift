import ArgumentParser
import CalotypeApp
import CalotypeImageURL
import Foundation

/// `calotype sign`: a signed `GET /img` path, for operators and tests, made
/// exactly as imgproxy's libraries make one.
struct SignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Print a signed GET /img path for a source URL and imgproxy-style options.",
        discussion: """
            Signs with CALOTYPE_SIGNING_KEY and CALOTYPE_SIGNING_SALT (hex; with several pairs, the first), read as \
            serve reads them: the environment, .env, --config or the secrets folder (CALOTYPE_SECRETS_DIR).
            Example: calotype sign https://images.example.com/a.jpg --options rs:fill:300:300/q:80 --extension webp
            """
    )

    @Argument(help: "The source: an http(s)://, s3:// or local:/// URL.")
    var source: String

    @Option(help: "Processing options, slash separated (rs:fit:800:0/q:80).")
    var options: String = ""

    @Option(help: "The output format's extension (webp, jpg, png, avif, gif, jxl).")
    var `extension`: String?

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    func run() async throws {
        let keys: URLSigningKeys
        do {
            keys = try URLSigningKeys.read(from: try await settingsOptions.load()) ?? URLSigningKeys(keys: "", salts: "")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        let optionPath = options.split(separator: "/").filter { !$0.isEmpty }.map { "/" + $0 }.joined()
        let path = optionPath + "/" + URLSigningKeys.base64URLEncode(Array(source.utf8)) + (`extension`.map { ".\($0)" } ?? "")
        guard let signature = keys.sign(path) else {
            throw ValidationError("set CALOTYPE_SIGNING_KEY and CALOTYPE_SIGNING_SALT (hex) to sign")
        }
        print("/img/\(signature)\(path)")
    }
}
