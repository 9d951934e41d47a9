import ArgumentParser
import CalotypeImageURL
import Foundation

/// `calotype sign`: a signed `GET /img` path, for operators and tests, made
/// exactly as imgproxy's libraries make one.
struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Print a signed GET /img path for a source URL and imgproxy-style options.",
        discussion: """
            Signs with CALOTYPE_SIGNING_KEY and CALOTYPE_SIGNING_SALT (hex; with several pairs, the first).
            Example: calotype sign https://images.example.com/a.jpg --options rs:fill:300:300/q:80 --extension webp
            """
    )

    @Argument(help: "The source: an http(s)://, s3:// or local:/// URL.")
    var source: String

    @Option(help: "Processing options, slash separated (rs:fit:800:0/q:80).")
    var options: String = ""

    @Option(help: "The output format's extension (webp, jpg, png, avif).")
    var `extension`: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let keys: URLSigningKeys
        do {
            keys = try URLSigningKeys(keys: environment["CALOTYPE_SIGNING_KEY"] ?? "", salts: environment["CALOTYPE_SIGNING_SALT"] ?? "")
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
