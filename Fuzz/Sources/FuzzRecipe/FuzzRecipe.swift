import CalotypeCore
import Foundation
import FuzzSupport

/// The two spellings of a recipe from requests: the JSON recipe (the `recipe`
/// form field, batch bodies) and the shorthand of query strings. Every input
/// is tried as both. A recipe read must write back (as JSON always, as the
/// shorthand when its operations are in the shorthand's order) to text that
/// reads back equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)

    if let recipe = try? Recipe(json: input) {
        require(recipe.operations.count <= Recipe.defaultMaxOperations, "\(recipe.operations.count) operations read")
        checkRoundTrips(recipe, from: "JSON")
    }
    if let recipe = try? Recipe(json: input, maxOperations: Recipe.operationsCeiling) {
        require(recipe.operations.count <= Recipe.operationsCeiling, "\(recipe.operations.count) operations read")
    }

    let query = String(decoding: input, as: UTF8.self)
    if let recipe = try? Recipe(shorthand: query, ignoring: ["backend", "strict", "inline"]) {
        checkRoundTrips(recipe, from: "the shorthand")
        // What the shorthand reads, it can write: its operations are in order, once each.
        require((try? recipe.shorthand()) != nil, "a recipe read from the shorthand cannot be written as one: \(recipe)")
    }
    return 0
}

func checkRoundTrips(_ recipe: Recipe, from spelling: String) {
    let json = recipe.json
    do {
        let back = try Recipe(json: Data(json.utf8), maxOperations: Recipe.operationsCeiling)
        require(back == recipe, "read from \(spelling), written as \(json), read back as \(back), not \(recipe)")
    } catch {
        require(false, "read from \(spelling), written as \(json), refused: \(error)")
    }
    guard let shorthand = try? recipe.shorthand() else { return }
    do {
        let back = try Recipe(shorthand: shorthand)
        require(back == recipe, "read from \(spelling), written as \(shorthand), read back as \(back), not \(recipe)")
    } catch {
        require(false, "read from \(spelling), written as \(shorthand), refused: \(error)")
    }
}
