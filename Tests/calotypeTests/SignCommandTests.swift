import Foundation
import Testing

/// `calotype sign` as an operator runs it. The expected signature was made
/// with Python's hmac over the same path (imgproxy's scheme).
@Suite("calotype sign", .timeLimit(.minutes(2)))
struct SignCommandTests {
    @Test func printsTheSignedPathImgproxysLibrariesWouldMake() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await CLI.run(
            ["sign", "http://example.com/images/curiosity.jpg", "--options", "rs:fill:300:400:0/g:sm", "--extension", "png"],
            in: folder,
            environment: [
                "CALOTYPE_SIGNING_KEY": "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881",
                "CALOTYPE_SIGNING_SALT": "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5",
            ]
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(
            outcome.stdout
                == "/img/4e9HplX3xN8DgbCf3GPatgfy42W8pLOfGHxXdnPxeHw/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1wbGUuY29tL2ltYWdlcy9jdXJpb3NpdHkuanBn.png\n"
        )
    }

    @Test func withoutAKeyItSaysWhatToSet() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await CLI.run(
            ["sign", "https://example.com/a.jpg"],
            in: folder,
            environment: ["CALOTYPE_SIGNING_KEY": "", "CALOTYPE_SIGNING_SALT": ""]
        )
        #expect(outcome.status == 64 && outcome.stderr.contains("CALOTYPE_SIGNING_KEY"))
    }
}
