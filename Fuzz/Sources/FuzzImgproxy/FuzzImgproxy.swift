import CalotypeCore
import CalotypeImageURL
import FuzzSupport

/// `GET /img/{signature}/{options}/{source}`: the path after `/img/` read by
/// `ImageURL(path:)`, its options by `ImgproxyOptions` (presets included),
/// and the recipe they make (sizes are resolved in the pipeline, not here).
let presets = [
    "thumb": "rs:fill:200:200/q:70",
    "sharp": "sh:1.5/sm:1",
    "nested": "pr:thumb:sharp/f:webp",
    "loop": "pr:loop",
    "ping": "pr:pong",
    "pong": "pr:ping",
    "broken": "w:abc",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)
    let path = text(input)
    guard let url = try? ImageURL(path: path) else { return 0 }
    // The signature signs exactly what follows it.
    require(url.signature + url.signedPath == path, "signature '\(url.signature)' and signed path '\(url.signedPath)' are not the path")
    require(!url.signature.isEmpty && !url.source.isEmpty, "an empty signature or source from '\(path)'")
    require(url.extensionFormat?.isEmpty != true, "an empty extension format")

    guard let options = try? ImgproxyOptions(url.options, presets: presets, extensionFormat: url.extensionFormat) else { return 0 }
    if let width = options.width { require(width > 0, "width \(width)") }
    if let height = options.height { require(height > 0, "height \(height)") }
    if let crop = options.crop { require(crop.width > 0 && crop.height > 0, "crop \(crop)") }
    guard let recipe = try? options.recipe() else { return 0 }
    // The recipe was made from the shorthand's fields: it writes back to it.
    do {
        let back = try Recipe(shorthand: try recipe.shorthand())
        require(back == recipe, "the recipe of '\(path)' reads back as \(back), not \(recipe)")
    } catch {
        require(false, "the recipe of '\(path)' does not write back: \(error)")
    }
    return 0
}
