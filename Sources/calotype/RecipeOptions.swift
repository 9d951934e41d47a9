import ArgumentParser
import CalotypeApp
import CalotypeCore
import Foundation

/// The recipe flags shared by the commands that process images. Every flag
/// is a spelling of the recipe shorthand, so the CLI, the HTTP query string
/// and JSON recipes go through the same parser and the same validation.
struct RecipeOptions: ParsableArguments {
    @Option(help: "Target width in pixels.")
    var width: Int?

    @Option(help: "Target height in pixels.")
    var height: Int?

    @Option(help: "How the image meets a width x height box: inside, cover, fill or contain.")
    var fit: String?

    @Option(
        help:
            "What `cover` keeps: centre, an edge (north, ...), a corner (north_east, ...), attention or entropy (offsets, focus points: --shorthand)."
    )
    var gravity: String?

    @Flag(
        inversion: .prefixedNo,
        help:
            "Let JPEG/WebP decoders shrink by the largest power of two that still leaves the target size (default on; --no-fast-shrink matches vipsthumbnail exactly)."
    )
    var fastShrink: Bool?

    @Flag(help: "Allow scaling up.")
    var enlarge = false

    @Option(help: "Output format: jpeg, png, webp, avif, gif, jxl or original (see `calotype devices` for what this build writes).")
    var format: String?

    @Option(help: "Encoder quality, 1-100 (JPEG, WebP, AVIF, JPEG XL).")
    var quality: Int?

    @Option(help: "More operations in the recipe shorthand, e.g. 'blur=2&rotate=90&grayscale=true' (see `calotype operations`).")
    var shorthand: String?

    @Option(
        help: "A JSON recipe file, e.g. {\"ops\":[{\"op\":\"resize\",\"width\":800}],\"format\":\"webp\"}. Not combined with the other recipe flags."
    )
    var recipe: String?

    /// Whether no recipe flag was given (a command may then use its own default).
    var isEmpty: Bool {
        width == nil && height == nil && fit == nil && gravity == nil && fastShrink == nil && !enlarge
            && format == nil && quality == nil && shorthand == nil && recipe == nil
    }

    /// The recipe these flags describe.
    func makeRecipe() throws -> Recipe {
        var fields: [(key: String, value: String)] = []
        func add(_ key: String, _ value: (some CustomStringConvertible)?) {
            if let value { fields.append((key, value.description)) }
        }
        add("width", width)
        add("height", height)
        add("fit", fit)
        add("gravity", gravity)
        add("fast_shrink", fastShrink)
        add("enlarge", enlarge ? true : nil)
        add("format", format)
        add("quality", quality)
        if let shorthand {
            fields += Recipe.shorthandFields(fromQuery: shorthand)
        }

        if let recipe {
            guard fields.isEmpty else {
                throw ValidationError("--recipe cannot be combined with other recipe flags; put everything in the JSON file")
            }
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: recipe))
            } catch {
                throw ValidationError("cannot read the recipe file \(recipe): \(error.localizedDescription)")
            }
            do {
                return try Recipe(json: data)
            } catch {
                throw ValidationError("invalid recipe in \(recipe): \(error)")
            }
        }
        do {
            return try Recipe(shorthandFields: fields)
        } catch {
            throw ValidationError("invalid recipe: \(error)")
        }
    }
}
