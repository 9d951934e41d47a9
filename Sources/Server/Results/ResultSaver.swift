import CalotypeCore
import Crypto
import Foundation
import NIOPosix

/// Where `/process-and-save` stores each result; returns where it went.
/// The save folder and an HTTP receiver are built in; the composition root
/// may give another (S3) in `ServerConfiguration.saveSink`.
public protocol ResultSink: Sendable {
    func save(_ bytes: [UInt8], item: SavedItem, format: OutputFormat) async throws -> String
}

/// Which result is being saved: what a sink may name it by. Batch id, index
/// and recipe together name a result uniquely, so a sink that keys by them
/// overwrites identical bytes when a save is retried.
public struct SavedItem: Sendable {
    public var batchID: String
    public var index: Int
    /// The upload's file name, if it had one.
    public var name: String?
    public var recipe: Recipe

    /// The name as every sink writes it: its last path component without
    /// extension, safe characters only, no leading dots, at most 100 characters.
    public var stem: String { ResultSaver.sanitisedStem(name) }

    /// Twelve hex digits of the recipe's SHA-256: with the batch and the
    /// index, a name that a retried write of the same result repeats.
    public var recipeHash: String

    /// `recipe`'s hash, made once per batch rather than per item.
    public static func hash(of recipe: Recipe) -> String {
        SHA256.hash(data: Data(recipe.json.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    public init(batchID: String, index: Int, name: String?, recipe: Recipe, recipeHash: String? = nil) {
        self.batchID = batchID
        self.index = index
        self.name = name
        self.recipe = recipe
        self.recipeHash = recipeHash ?? Self.hash(of: recipe)
    }
}

/// Writes results into the save folder of `/process-and-save`: atomically,
/// under sanitised names that never overwrite an existing file.
struct ResultSaver: ResultSink {
    let directory: URL
    let io: NIOThreadPool

    /// Saves `bytes` as `name` (sanitised, with the format's extension) and
    /// returns the path written.
    func save(_ bytes: [UInt8], item: SavedItem, format: OutputFormat) async throws -> String {
        let stem = item.stem
        let directory = self.directory
        return try await io.runIfActive {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let temporary = directory.appendingPathComponent(".incoming-\(UUID().uuidString)")
            try Data(bytes).write(to: temporary)
            defer { unlink(temporary.path) }
            for suffix in Self.suffixes {
                let file = directory.appendingPathComponent("\(stem)\(suffix).\(format.fileExtension)")
                // link() fails if the name exists: no overwrite, no half-written file.
                if link(temporary.path, file.path) == 0 { return file.path }
                guard errno == EEXIST else { throw CocoaError(.fileWriteUnknown) }
            }
            throw CocoaError(.fileWriteFileExists)
        }
    }

    /// The names tried in turn after the stem itself: `-1` to `-16`, friendly
    /// for the usual few saves of one name, then random ones, so that no
    /// number of saves of one name (the fallback `image` included) can use
    /// the names up: counting to 1,000 did, and every later save failed.
    static var suffixes: some Sequence<String> {
        [""] + (1...16).map { "-\($0)" } + (0..<16).lazy.map { _ in "-" + UUID().uuidString.prefix(8).lowercased() }
    }

    /// The file name's stem with everything but letters, digits, '.', '-' and
    /// '_' replaced, no leading dots, at most 100 characters.
    static func sanitisedStem(_ name: String?) -> String {
        let last = (name ?? "").split(separator: "/").last.map(String.init) ?? ""
        let stem = last.contains(".") ? String(last[..<(last.lastIndex(of: ".") ?? last.endIndex)]) : last
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        var cleaned = String(stem.map { allowed.contains($0) ? $0 : "_" }.prefix(100))
        while cleaned.hasPrefix(".") { cleaned.removeFirst() }
        return cleaned.isEmpty ? "image" : cleaned
    }
}
