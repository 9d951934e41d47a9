import Foundation
import Testing

@testable import Server

/// The console's files and the OpenAPI template are real files in
/// `Sources/Server/Assets/`, built into the binary by the EmbedAssets plugin.
@Suite("Assets built into the binary")
struct AssetTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Server/Assets")

    @Test(arguments: ["console.html", "console.css", "console.js", "openapi.json"])
    func eachAssetIsItsFileByteForByte(_ name: String) throws {
        let file = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        let embedded = Assets.text(name)
        #expect(!embedded.isEmpty && embedded == file, "\(name)")
    }

    @Test func theServedOnesAreTheNamedOnes() {
        #expect(Assets.consolePage == Assets.text("console.html") && Assets.consoleScript == Assets.text("console.js"))
        #expect(Assets.consoleStyle == Assets.text("console.css") && Assets.openAPITemplate == Assets.text("openapi.json"))
    }
}
