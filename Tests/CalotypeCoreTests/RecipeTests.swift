import CalotypeCore
import Foundation
import Testing

@Suite("Recipes: both spellings, one model")
struct RecipeTests {
    @Test func readsTheJSONSpelling() throws {
        let recipe = try Recipe(json: Data(#"{"ops":[{"op":"resize","width":800}],"format":"webp","quality":80}"#.utf8))
        #expect(recipe.operations == [.resize(try Resize(width: 800))])
        #expect(recipe.output.format == .webp)
        #expect(recipe.output.quality == 80)
        #expect(recipe.output.strip)
        #expect(recipe.autorotate)
    }

    @Test func readsTheShorthandOfTheIssue() throws {
        let recipe = try Recipe(shorthand: "width=800&height=600&fit=cover&format=webp&quality=80&blur=2&rotate=90&flip=horizontal&grayscale=true")
        #expect(
            recipe.operations == [
                .resize(try Resize(width: 800, height: 600, fit: .cover)),
                .rotate(try Rotate(angle: 90)),
                .flip(Flip(direction: .horizontal)),
                .blur(try Blur(sigma: 2)),
                .grayscale(Grayscale()),
            ]
        )
        #expect(recipe.output == (try OutputOptions(format: .webp, quality: 80)))
    }

    @Test func defaultsApplyWhenParametersAreAbsent() throws {
        let recipe = try Recipe(json: Data(#"{"ops":[{"op":"resize","height":50},{"op":"sharpen"},{"op":"adjust"}]}"#.utf8))
        guard case .resize(let resize) = recipe.operations[0] else {
            Issue.record("not a resize")
            return
        }
        #expect(resize.width == nil && resize.height == 50)
        #expect(resize.fit == .inside && resize.gravity == .centre && !resize.enlarge && resize.fastShrink)
        #expect(resize.background == .white)
        #expect(recipe.operations[1] == .sharpen(try Sharpen(sigma: 0.5)))
        #expect(recipe.operations[2] == .adjust(try Adjust(brightness: 0, contrast: 1, gamma: 1)))
        #expect(recipe.output.format == .original && recipe.output.quality == 80)
    }

    static let roundTripRecipes: [Recipe] = {
        do {
            return [
                Recipe(),
                Recipe([.resize(try Resize(width: 800))], output: try OutputOptions(format: .jpeg, quality: 80)),
                Recipe(
                    [
                        .crop(try Crop(x: 10, y: 20, width: 300, height: 200)),
                        .resize(
                            try Resize(
                                width: 640,
                                height: 480,
                                fit: .contain,
                                enlarge: true,
                                fastShrink: false,
                                background: Colour(red: 1, green: 2, blue: 3, alpha: 128)
                            )
                        ),
                        .rotate(try Rotate(angle: 270)),
                        .flip(Flip(direction: .vertical)),
                        .blur(try Blur(sigma: 1.5)),
                        .sharpen(try Sharpen()),
                        .pixelate(try Pixelate(size: 12)),
                        .adjust(try Adjust(brightness: 0.1, contrast: 1.2, gamma: 2.2)),
                        .grayscale(Grayscale()),
                    ],
                    output: try OutputOptions(format: .avif, quality: 50, strip: false),
                    autorotate: false
                ),
                Recipe([.adjust(try Adjust())]),
                Recipe([.resize(try Resize(height: 100, fit: .cover, gravity: .attention))], output: try OutputOptions(format: .png)),
            ]
        } catch {
            return []
        }
    }()

    /// A value made in code is checked as a read one is: each bound
    /// parameter's range, then the checks across them.
    @Test func valuesMadeInCodeAreValidatedAsReadOnesAre() throws {
        #expect(throws: RecipeError.self) { try Pixelate(size: 0) }
        #expect(throws: RecipeError.self) { try Blur(sigma: 101) }
        #expect(throws: RecipeError.self) { try Resize() }
        #expect(throws: RecipeError.self) { try Crop(x: 5, width: 10, height: 10, gravity: .centre) }
        #expect(throws: RecipeError.self) { try OutputOptions(quality: 0) }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "pixelate=0") }
        #expect(try Recipe(shorthand: "pixelate=16").operations == [.pixelate(try Pixelate(size: 16))])
    }

    @Test(arguments: roundTripRecipes)
    func roundTripsThroughJSON(_ recipe: Recipe) throws {
        let data = try JSONEncoder().encode(recipe)
        #expect(try JSONDecoder().decode(Recipe.self, from: data) == recipe)
        #expect(try Recipe(json: Data(recipe.json.utf8)) == recipe)
    }

    @Test(arguments: roundTripRecipes)
    func roundTripsThroughShorthand(_ recipe: Recipe) throws {
        let text = try recipe.shorthand()
        #expect(try Recipe(shorthand: text) == recipe, "shorthand: \(text)")
    }

    @Test func theRoundTripRecipesWereBuilt() {
        #expect(Self.roundTripRecipes.count == 5)
    }

    @Test func writesTersely() throws {
        let recipe = try Recipe(shorthand: "width=800&format=jpeg")
        #expect(recipe.json == #"{"format":"jpeg","ops":[{"op":"resize","width":800}]}"#)
        #expect(try recipe.shorthand() == "width=800&format=jpeg")
    }

    @Test func shorthandCannotSpellOperationsOutOfOrder() throws {
        let recipe = Recipe([.blur(try Blur(sigma: 1)), .resize(try Resize(width: 10))])
        let error = #expect(throws: RecipeError.self) { try recipe.shorthand() }
        #expect(error?.description.contains("resize after blur") == true)
    }

    @Test func shorthandSwitchesFlagsOff() throws {
        #expect(try Recipe(shorthand: "grayscale=false").operations.isEmpty)
        #expect(try Recipe(shorthand: "grayscale=1").operations == [.grayscale(Grayscale())])
    }

    @Test func shorthandDecodesPercentEncoding() throws {
        let recipe = try Recipe(shorthand: "?width=10&height=10&fit=contain&background=%23ff000080")
        guard case .resize(let resize) = recipe.operations.first else {
            Issue.record("no resize")
            return
        }
        #expect(resize.background == Colour(red: 255, green: 0, blue: 0, alpha: 128))
    }

    @Test func shorthandLeavesReservedKeysToTheCaller() throws {
        let recipe = try Recipe(shorthand: "width=10&backend=gpu", ignoring: ["backend"])
        #expect(recipe.operations.count == 1)
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "width=10&backend=gpu") }
    }

    @Test func aliasesAreAccepted() throws {
        let recipe = try Recipe(shorthand: "width=10&height=10&fit=cover&gravity=center&format=jpg")
        #expect(recipe.output.format == .jpeg)
        guard case .resize(let resize) = recipe.operations.first else {
            Issue.record("no resize")
            return
        }
        #expect(resize.gravity == .centre)
    }

    // MARK: Errors name the field and the allowed values

    struct Refusal: Sendable, CustomTestStringConvertible {
        let json: String?
        let shorthand: String?
        let message: String
        var testDescription: String { json ?? shorthand ?? "" }
    }

    static let refusals: [Refusal] = [
        .init(json: nil, shorthand: "width=0", message: "width must be 1...16384, got 0"),
        .init(json: #"{"ops":[{"op":"resize","width":0}]}"#, shorthand: nil, message: "ops[0].width must be 1...16384, got 0"),
        .init(json: nil, shorthand: "quality=101", message: "quality must be 1...100, got 101"),
        .init(json: #"{"quality":0}"#, shorthand: nil, message: "quality must be 1...100, got 0"),
        .init(json: nil, shorthand: "rotate=45", message: "rotate must be one of 90, 180, 270, got 45"),
        .init(json: #"{"ops":[{"op":"rotate","angle":45}]}"#, shorthand: nil, message: "ops[0].angle must be one of 90, 180, 270, got 45"),
        .init(json: nil, shorthand: "blur=0.1", message: "blur must be 0.2...100, got 0.1"),
        .init(json: nil, shorthand: "width=abc", message: "width must be an integer, got 'abc'"),
        .init(json: #"{"ops":[{"op":"resize","width":"wide"}]}"#, shorthand: nil, message: "ops[0].width must be an integer, got 'wide'"),
        .init(json: nil, shorthand: "fit=stretch&width=5", message: "fit must be one of inside, cover, fill, contain, auto, got 'stretch'"),
        .init(json: nil, shorthand: "format=bmp", message: "format must be one of jpeg, png, webp, avif, gif, jxl, original, got 'bmp'"),
        .init(json: nil, shorthand: "fit=cover", message: "width: resize needs width, height or both"),
        .init(json: #"{"ops":[{"op":"resize"}]}"#, shorthand: nil, message: "ops[0].width: resize needs width, height or both"),
        .init(json: #"{"ops":[{"op":"explode"}]}"#, shorthand: nil, message: "ops[0].op is not a known operation"),
        .init(json: #"{"ops":[{"width":3}]}"#, shorthand: nil, message: "ops[0].op: every operation needs \"op\""),
        .init(json: #"{"ops":[{"op":"resize","widht":3}]}"#, shorthand: nil, message: "ops[0].widht is not a known parameter"),
        .init(json: #"{"format":"tiff"}"#, shorthand: nil, message: "format must be one of jpeg, png, webp, avif, gif, jxl, original, got 'tiff'"),
        .init(json: #"{"strip":"yes"}"#, shorthand: nil, message: "strip must be a boolean, got 'yes'"),
        .init(json: #"{"formt":"png"}"#, shorthand: nil, message: "formt is not a known parameter"),
        .init(json: nil, shorthand: "widht=3", message: "widht is not a known parameter"),
        .init(json: nil, shorthand: "width=3&width=4", message: "width is malformed: given more than once"),
        .init(json: #"{"ops":{"op":"blur"}}"#, shorthand: nil, message: "ops must be a list of operations"),
        .init(json: #"[1,2]"#, shorthand: nil, message: "recipe is malformed: not a JSON object"),
        .init(json: #"{"ops":[{"op":"crop","width":10}]}"#, shorthand: nil, message: "ops[0].height: is required (1...16384)"),
        .init(
            json: nil,
            shorthand: "width=10&height=10&fit=contain&background=chartreuse",
            message: "background must be a colour #rgb, #rrggbb or #rrggbbaa, got 'chartreuse'"
        ),
    ]

    @Test(arguments: refusals)
    func refusesInvalidRecipesNamingTheField(_ refusal: Refusal) throws {
        let error = #expect(throws: RecipeError.self) {
            if let json = refusal.json {
                _ = try Recipe(json: Data(json.utf8))
            } else {
                _ = try Recipe(shorthand: refusal.shorthand ?? "")
            }
        }
        let description = error?.description ?? ""
        #expect(description.hasPrefix(refusal.message), "got: \(description)")
    }

    @Test func aJSONRecipeHasAtMostItsLimitOfOperationsAndBytes() throws {
        func flips(_ count: Int) -> Data {
            Data(#"{"ops":[\#(Array(repeating: #"{"op":"flip","direction":"horizontal"}"#, count: count).joined(separator: ","))]}"#.utf8)
        }
        #expect(try Recipe(json: flips(Recipe.defaultMaxOperations)).operations.count == 16)
        let tooMany = #expect(throws: RecipeError.self) { try Recipe(json: flips(17)) }
        #expect(tooMany?.description == "ops must be at most 16 operations, got 17")
        #expect(try Recipe(json: flips(3), maxOperations: 3).operations.count == 3)
        #expect(throws: RecipeError.self) { try Recipe(json: flips(4), maxOperations: 3) }
        let huge = #expect(throws: RecipeError.self) { try Recipe(json: flips(5000), maxOperations: Recipe.operationsCeiling) }
        #expect(huge?.field == "recipe", "refused on its size, before parsing")
        #expect(throws: RecipeError.self) { try Recipe.checkOperationCount(9, limit: 8) }
    }

    @Test func programmaticConstructionValidatesToo() {
        #expect(throws: RecipeError.self) { try Resize(width: 20000) }
        #expect(throws: RecipeError.self) { try Resize() }
        #expect(throws: RecipeError.self) { try Crop(width: 0, height: 1) }
        #expect(throws: RecipeError.self) { try OutputOptions(quality: 0) }
        #expect(throws: RecipeError.self) { try Adjust(gamma: 0) }
    }

    @Test func colourSpellings() {
        #expect(Colour(shorthand: "#fff") == .white)
        #expect(Colour(shorthand: "000000") == .black)
        #expect(Colour(shorthand: "#11223344") == Colour(red: 0x11, green: 0x22, blue: 0x33, alpha: 0x44))
        #expect(Colour(shorthand: "#12345") == nil)
        #expect(Colour(red: 1, green: 2, blue: 255).shorthand == "#0102ff")
    }

    @Test func adjustTableIsTheDocumentedFormula() throws {
        #expect(try Adjust().lookupTable == (0...255).map(UInt8.init))
        let brighter = try Adjust(brightness: 0.1).lookupTable
        #expect(brighter[0] == 26 && brighter[100] == 126 && brighter[255] == 255)
        // contrast 1.5: 1.5 i - 63.75
        let contrast = try Adjust(contrast: 1.5).lookupTable
        #expect(contrast[30] == 0 && contrast[100] == 86 && contrast[200] == 236 && contrast[255] == 255)
        let gamma = try Adjust(gamma: 2).lookupTable
        #expect(gamma[64] == 128)
    }
}

/// imgproxy's size-dependent options as operations, decided against the
/// image as it is at their step (by every backend, through these).
@Suite("Operations resolved against the image")
struct ResolvedOperationTests {
    @Test func aCentredCropIsInTheMiddleAndClampedToTheImage() throws {
        let crop = try Crop(width: 100, height: 80, gravity: .centre)
        #expect(crop.clamped(toWidth: 320, height: 240)! == (110, 80, 100, 80))
        #expect(crop.clamped(toWidth: 90, height: 240)! == (0, 80, 90, 80), "wider than the image: the whole width")
        #expect(crop.clamped(toWidth: 101, height: 81)! == (0, 0, 100, 80), "an odd margin: the extra pixel right and below")
        #expect(throws: RecipeError.self, "a centred crop places itself") { try Crop(x: 5, width: 10, height: 10, gravity: .centre) }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "crop_y=5&crop_width=10&crop_height=10&crop_gravity=center") }
        #expect(
            try Recipe(shorthand: "crop_width=10&crop_height=10&crop_gravity=center").operations == [
                .crop(try Crop(width: 10, height: 10, gravity: .centre))
            ]
        )
    }

    @Test func autoCoversABoxOfTheImagesOrientationAndFitsInsideAnyOther() throws {
        let landscapeBox = try Resize(width: 300, height: 200, fit: .auto)
        #expect(landscapeBox.resolved(forWidth: 4000, height: 3000).fit == .cover)
        #expect(landscapeBox.resolved(forWidth: 3000, height: 4000).fit == .inside)
        #expect(landscapeBox.resolved(forWidth: 100, height: 100).fit == .cover, "a square counts as landscape, as in imgproxy")
        #expect(try Resize(width: 300, fit: .auto).resolved(forWidth: 10, height: 20).fit == .inside, "one side: inside")
        #expect(try Resize(width: 300, height: 200, fit: .fill).resolved(forWidth: 1, height: 9).fit == .fill, "other fits stay")
    }
}

@Suite("Documentation")
struct DocumentationTests {
    @Test func generatedReferenceIsCommitted() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/recipes.md"), encoding: .utf8)
        #expect(committed == RecipeDocumentation.markdown(), "docs/recipes.md is stale: run `swift run calotype operations > docs/recipes.md`")
    }

    @Test func everyParameterIsDocumented() {
        let text = RecipeDocumentation.markdown()
        for kind in OperationKind.allCases {
            #expect(text.contains("## `\(kind.rawValue)`"))
            for parameter in kind.type.parameters {
                #expect(text.contains("`\(parameter.shorthandKey)`"))
            }
        }
    }
}
