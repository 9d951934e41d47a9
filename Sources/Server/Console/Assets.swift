import Foundation

/// The files of `Sources/Server/Assets/`, built into the binary by the
/// EmbedAssets plugin: the console's page, style and script, and the OpenAPI
/// document's template. Each is decoded once.
enum Assets {
    static let consolePage = text("console.html")
    static let consoleStyle = text("console.css")
    static let consoleScript = text("console.js")
    static let openAPITemplate = text("openapi.json")

    /// A file's text; the plugin embeds every file of the folder, so a name
    /// here that has none is caught by `AssetTests`, not by a user.
    static func text(_ name: String) -> String {
        guard let base64 = EmbeddedAssets.base64[name], let data = Data(base64Encoded: base64) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
