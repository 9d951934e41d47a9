import ArgumentParser
import CalotypeApp
import CalotypeCore

/// `calotype operations`: the recipe vocabulary, generated from the
/// operations' own declarations so it cannot drift from the code.
struct OperationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operations",
        abstract: "Describe every pipeline operation and its parameters (Markdown)."
    )

    func run() {
        print(RecipeDocumentation.markdown(), terminator: "")
    }
}
