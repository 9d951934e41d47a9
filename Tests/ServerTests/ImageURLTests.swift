import Server
import Testing

/// imgproxy-compatible URLs: signatures as its libraries make them, and the
/// path's parts. The expected signatures were computed with Python's hmac
/// (an implementation of its own):
/// base64.urlsafe_b64encode(hmac.new(key, salt + path, sha256).digest()).rstrip(b'=').
@Suite("GET /img URLs: signatures and paths")
struct ImageURLTests {
    static let key = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
    static let salt = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
    static let base64Path = "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
    static let plainPath = "/w:200/plain/https://example.com/a%20b.jpg@webp"

    @Test func signaturesMatchImgproxysScheme() throws {
        let keys = try URLSigningKeys(keys: Self.key, salts: Self.salt)
        #expect(keys.sign(Self.base64Path) == "90UxdwGRAI2bpLSHKkZculJau5ahfxfS0h3fMuQAf40")
        #expect(keys.sign(Self.plainPath) == "5hJ4qClmm3IBoEBqSs4Vja-W5YMZtYAqUCtXZ87yBmI")
        #expect(keys.verify("90UxdwGRAI2bpLSHKkZculJau5ahfxfS0h3fMuQAf40", path: Self.base64Path))
        #expect(!keys.verify("90UxdwGRAI2bpLSHKkZculJau5ahfxfS0h3fMuQAf40", path: Self.base64Path.replacingOccurrences(of: "300", with: "301")))
        #expect(!keys.verify("not base64!", path: Self.base64Path))
    }

    /// A new key signs; URLs signed with the old one still verify.
    @Test func keysRotate() throws {
        let keys = try URLSigningKeys(keys: "aa11, \(Self.key)", salts: "bb22, \(Self.salt)")
        #expect(keys.verify("90UxdwGRAI2bpLSHKkZculJau5ahfxfS0h3fMuQAf40", path: Self.base64Path))
        #expect(keys.sign(Self.base64Path) != "90UxdwGRAI2bpLSHKkZculJau5ahfxfS0h3fMuQAf40")
        #expect(throws: URLSigningError.mismatchedPairs(keys: 2, salts: 1)) { try URLSigningKeys(keys: "aa,bb", salts: "cc") }
        #expect(throws: URLSigningError.notHex("CALOTYPE_SIGNING_KEY")) { try URLSigningKeys(keys: "xyz1", salts: "cc") }
    }

    @Test func pathsSplitIntoSignatureOptionsAndSource() throws {
        let encoded = try ImageURL(path: "sig" + Self.base64Path)
        #expect(encoded.signature == "sig" && encoded.signedPath == Self.base64Path)
        #expect(encoded.options == [.init(name: "rs", arguments: ["fill", "300", "400", "0"]), .init(name: "g", arguments: ["sm"])])
        #expect(encoded.source == "http://example.com/images/curiosity.jpg" && encoded.extensionFormat == "png")

        let plain = try ImageURL(path: "insecure" + Self.plainPath)
        #expect(plain.options == [.init(name: "w", arguments: ["200"])])
        #expect(plain.source == "https://example.com/a b.jpg" && plain.extensionFormat == "webp")

        let noOptions = try ImageURL(path: "sig/aHR0cDovL2V4YW1wbGUuY29tL2ltYWdlcy9jdXJpb3NpdHkuanBn")
        #expect(noOptions.options.isEmpty && noOptions.source == "http://example.com/images/curiosity.jpg" && noOptions.extensionFormat == nil)

        #expect(throws: ImageURLError.self) { try ImageURL(path: "sig") }
        #expect(throws: ImageURLError.self) { try ImageURL(path: "sig/w:200/") }
        #expect(throws: ImageURLError.self) { try ImageURL(path: "sig/w:200/enc/abcdef") }
        #expect(throws: ImageURLError.self) { try ImageURL(path: "sig/w:200/!!!not-base64") }
    }
}
