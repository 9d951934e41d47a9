import CalotypeCore
import CalotypeImageURL
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

@Suite("GET /img URLs: imgproxy's options as recipes")
struct ImgproxyOptionsTests {
    static func recipe(_ path: String, presets: [String: String] = [:]) throws -> Recipe {
        let url = try ImageURL(path: "sig/" + path + "/plain/https://example.com/a.jpg")
        return try ImgproxyOptions(url.options, presets: presets, extensionFormat: url.extensionFormat).recipe()
    }

    @Test(arguments: [
        ("rs:fill:300:400:0/g:sm", "width=300&height=400&fit=cover&gravity=attention"),
        ("rs:fit:300:400", "width=300&height=400&fit=inside"),
        ("s:200", "width=200&fit=inside"),
        ("w:200/h:100/rt:force/el:1", "width=200&height=100&fit=fill&enlarge=true"),
        // Resolved against the decoded image in the pipeline.
        ("rs:auto:300:200", "width=300&height=200&fit=auto"),
        ("c:1000:500", "crop_width=1000&crop_height=500&crop_gravity=centre"),
        ("rot:90/bl:2/sh:1/q:70/f:webp/sm:0", "rotate=90&blur=2.0&sharpen=1.0&quality=70&format=webp&strip=false"),
        ("w:0/h:120", "height=120&fit=inside"),
        // Gravity: compass points with offsets (pixels, or fractions under 1), and focus points.
        ("rs:fill:300:400/g:no", "width=300&height=400&fit=cover&gravity=north"),
        ("rs:fill:300:400/g:soea:10:0.25", "width=300&height=400&fit=cover&gravity=south_east&offset_x=10&offset_y=0.25"),
        ("rs:fill:300:400/g:fp:0.2:0.8", "width=300&height=400&fit=cover&gravity=focus&focus_x=0.2&focus_y=0.8"),
        ("rs:auto:300:400/g:we", "width=300&height=400&fit=auto&gravity=west"),
        ("rs:fit:300:400/g:no", "width=300&height=400&fit=inside"),
        ("c:100:50:nowe:5:6", "crop_width=100&crop_height=50&crop_gravity=north_west&crop_offset_x=5&crop_offset_y=6"),
        ("g:so/c:100:50", "crop_width=100&crop_height=50&crop_gravity=south"),
        ("g:ce:10:-10/c:100:50", "crop_width=100&crop_height=50&crop_gravity=centre&crop_offset_x=10&crop_offset_y=-10"),
        ("c:100:50:fp:0.5:0", "crop_width=100&crop_height=50&crop_gravity=focus&crop_focus_x=0.5&crop_focus_y=0"),
        // Sizing: the device pixel ratio and the zoom multiply the box (and pixel offsets); without one they scale.
        ("rs:fill:300:400/dpr:2", "width=600&height=800&fit=cover"),
        ("rs:fill:100:100/g:soea:10:0.5/dpr:2", "width=200&height=200&fit=cover&gravity=south_east&offset_x=20&offset_y=0.5"),
        ("w:100/z:1.5", "width=150&fit=inside"),
        ("w:100/h:100/z:2:0.5", "width=200&height=50&fit=inside"),
        ("z:0.5", "scale=0.5"),
        ("dpr:3/el:1", "scale=3&enlarge=true"),
        ("w:100/mw:200/dpr:2", "width=200&fit=inside&min_width=400"),
        ("mh:50", "scale=1&min_height=50"),
        // Extend to the box, or to its aspect ratio, by gravity; the background fills it and flattens.
        ("rs:fit:300:200:0:1:so", "width=300&height=200&fit=inside&extend_width=300&extend_height=200&extend_gravity=south"),
        ("s:300:200:0:1", "width=300&height=200&fit=inside&extend_width=300&extend_height=200"),
        (
            "rs:fit:300:200/exar:1:no/bg:ff0000",
            "width=300&height=200&fit=inside&extend_width=300&extend_height=200&extend_mode=aspect&extend_gravity=north&extend_background=ff0000&flatten=ff0000"
        ),
        ("ex:1", ""),
        ("pd:10:20", "padding_top=10&padding_right=20&padding_bottom=10&padding_left=20"),
        ("pd:1:2:3/dpr:2", "scale=2&padding_top=2&padding_right=4&padding_bottom=6&padding_left=4"),
        ("pd:0:5::/bg:0:0:255", "padding_right=5&padding_left=5&padding_background=0000ff&flatten=0000ff"),
        ("bg:255:0:0", "flatten=ff0000"),
        ("t:10:ff00ff:1", "trim=10&trim_colour=ff00ff&trim_equal_horizontal=true"),
        ("pix:8/ar:0/eth:1", "pixelate=8&autorotate=false"),
        ("pix:1", ""),
        (
            "wm:0.5:soea:10:5:0.2/dpr:2",
            "scale=2&watermark=0.5&watermark_position=south_east&watermark_offset_x=20&watermark_offset_y=10&watermark_scale=0.2"
        ),
        ("wm:1:re:0.1", "watermark=1&watermark_position=replicate&watermark_offset_x=0.1"),
        ("wm:0", ""),
        ("fq:jpg:60:webp:50:avif:40/mb:5000", "quality_jpeg=60&quality_webp=50&quality_avif=40&max_bytes=5000"),
        ("cb:abc/exp:4102444800/fn:holiday/att:1/skp:jpg/raw:0/kcr:0/scp:1", ""),
    ])
    func optionsMapOntoTheRecipe(_ options: String, _ shorthand: String) throws {
        #expect(try Self.recipe(options) == Recipe(shorthand: shorthand))
    }

    @Test func theExtensionGivesTheFormatWhenNoOptionDoes() throws {
        let url = try ImageURL(path: "sig/w:100/plain/https://example.com/a.jpg@png")
        #expect(try ImgproxyOptions(url.options, extensionFormat: url.extensionFormat).recipe() == Recipe(shorthand: "width=100&format=png"))
    }

    @Test func presetsExpandInPlace() throws {
        let presets = ["thumb": "rs:fill:100:100/q:60", "loop": "pr:loop"]
        #expect(try Self.recipe("pr:thumb", presets: presets) == Recipe(shorthand: "width=100&height=100&fit=cover&quality=60"))
        #expect(try Self.recipe("pr:thumb/q:90", presets: presets) == Recipe(shorthand: "width=100&height=100&fit=cover&quality=90"))
        #expect(throws: ImageURLError.self) { try Self.recipe("pr:loop", presets: presets) }
        #expect(throws: ImageURLError.self) { try Self.recipe("pr:nope", presets: presets) }
        // A preset is read by the option parser, not as a made-up URL.
        #expect(throws: ImageURLError.self) { try Self.recipe("pr:odd", presets: ["odd": "w:10/plain/x"]) }
        #expect(
            try ImageURL.options("rs:fill:100:100/q:60") == [
                .init(name: "rs", arguments: ["fill", "100", "100"]), .init(name: "q", arguments: ["60"]),
            ]
        )
    }

    /// An option Calotype does not have is refused by name, never ignored.
    @Test(arguments: [
        "wm:0.5:ch", "wm:2", "msr:100", "kcr:1", "scp:0", "fq:png:50", "fq:jpg", "exp:-5", "fn:a%2Fb", "g:obj:face", "g:fp:2:0.5", "g:fp:0.5",
        "g:no:1:2:3", "g:sm:1", "g:no:99999", "rt:crop", "rt:fill-down",
        "c:100:100:sm", "rot:45", "t:300", "t:10:red", "w:abc", "el:maybe", "ex:1:sm", "dpr:0", "dpr:9", "z:0", "z:17", "z:nan",
        "pd:1:2:3:4:5", "pd:99999", "bg:1:2", "bg:300:0:0", "bg:ff", "mw:-1", "ar:yes",
        // An empty width is not "no width"; a crop larger than any is refused, not clamped.
        "w:", "h:", "c:100000000:1", "c:1:16385",
    ])
    func whatCalotypeDoesNotHaveIsRefusedByName(_ option: String) throws {
        do {
            _ = try Self.recipe(option)
            Issue.record("\(option) was accepted")
        } catch let error as ImageURLError {
            let name = String(option.prefix { $0 != ":" })
            let text = error.description
            #expect(text.contains(": \(name):") || text.contains(": \(name) ") || text.hasPrefix("\(name):") || text.contains("'\(name)'"), "\(text)")
        }
    }

    /// Values out of the recipe's ranges are the recipe's own errors.
    @Test func rangesAreTheRecipes() throws {
        #expect(throws: RecipeError.self) { try Self.recipe("w:20000") }
        #expect(throws: RecipeError.self) { try Self.recipe("q:101") }
        #expect(throws: RecipeError.self) { try Self.recipe("f:bmp") }
    }

    /// A number is read as written: `1e308` once read back from a query
    /// string as "1e 308".
    @Test func aNumberOutOfRangeIsNamedAsWritten() throws {
        #expect {
            try Self.recipe("bl:1e308")
        } throws: { error in
            "\(error)".contains("blur") && "\(error)".contains("1e+308") && !"\(error)".contains("1e 308")
        }
    }
}
