import Foundation

// The EmbedAssets plugin's tool: writes a Swift file holding each file named
// after the first argument, by name, base64-encoded (a literal the compiler
// reads at once, whatever the file holds).
//
//   AssetEmbedder <output.swift> <file>...
let arguments = Array(CommandLine.arguments.dropFirst())
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: AssetEmbedder <output.swift> <file>...\n".utf8))
    exit(64)
}
var swift = """
    // Generated at build time by the EmbedAssets plugin from the target's
    // Assets/ folder; edit those files, not this one.
    enum EmbeddedAssets {
        /// Each file's bytes, base64-encoded, by file name.
        static let base64: [String: String] = [

    """
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("AssetEmbedder: cannot read \(path)\n".utf8))
        exit(1)
    }
    swift += "        \"\(url.lastPathComponent)\": \"\(data.base64EncodedString())\",\n"
}
swift += "    ]\n}\n"
do {
    try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("AssetEmbedder: cannot write \(output): \(error)\n".utf8))
    exit(1)
}

/// The fuzzing build (`scripts/fuzz.sh`) compiles every target of the
/// package, this tool included, with `-sanitize=fuzzer`, which links
/// libFuzzer: its objects need the fuzz target's entry point. The tool never
/// fuzzes anything; this entry point only lets it link there.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerEntryPointForTheFuzzingBuild(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { 0 }
