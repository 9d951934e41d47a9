import CalotypeCore
import Foundation
import NIOPosix

/// Where the result store keeps the bytes of `GET /results/{id}`: a folder
/// (the embedded default) or an S3 prefix (`CALOTYPE_RESULTS_URL`, the
/// composition root's). The store keeps the index, the lifetimes and the
/// size cap; a storage only writes, reads and deletes.
public protocol ResultStorage: Sendable {
    /// Whether results written by another node, or before a restart, can be
    /// read by their id (S3: yes; the folder, emptied at start: no).
    var isShared: Bool { get }
    /// Ready to write (the folder is emptied: its ids died with the last run).
    func prepare() async throws
    /// Writes a result with the name of the tenant whose batch made it
    /// (a shared storage keeps it with the bytes, so that any node can
    /// refuse it to another tenant).
    func write(_ bytes: [UInt8], as name: ResultName, mediaType: String, owner: String) async throws
    /// The bytes, or nil when there are none under `name`.
    func read(_ name: ResultName) async throws -> StoredResult?
    /// Deletes it; nothing to delete is not an error.
    func delete(_ name: ResultName) async throws
}

/// A stored result's bytes, media type and age.
public struct StoredResult: Sendable {
    public var bytes: [UInt8]
    public var mediaType: String
    /// When it was written, if the storage knows.
    public var written: Date?
    /// The tenant whose batch made it, if the storage keeps it (nil: only
    /// an `admin` key reads it).
    public var owner: String?

    public init(bytes: [UInt8], mediaType: String, written: Date? = nil, owner: String? = nil) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.written = written
        self.owner = owner
    }
}

/// A result's name, deterministic: its batch, its index, a hash of the
/// recipe and the batch's result token, so that a retried write overwrites
/// identical bytes. Its `id` (`{batch}_{index}_{hash}_{token}.{ext}`, the
/// last part of its `/results/` url) names it alone, so that a node that
/// did not write it can still find it in shared storage. The token (128
/// random bits per batch, known to whoever may read the batch) makes the
/// url unguessable: the batch id alone, which logs and other tenants'
/// errors may show, does not lead to its results.
public struct ResultName: Sendable, Hashable {
    public var batchID: String
    public var index: Int
    public var recipeHash: String
    public var token: String
    public var fileExtension: String

    public init(batchID: String, index: Int, recipeHash: String, token: String, fileExtension: String) {
        self.batchID = batchID
        self.index = index
        self.recipeHash = recipeHash
        self.token = token
        self.fileExtension = fileExtension
    }

    public var id: String { "\(batchID)_\(index)_\(recipeHash)_\(token).\(fileExtension)" }

    /// A batch's token: 16 bytes from the system's cryptographic generator, in hex.
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    static func isToken(_ text: Substring) -> Bool {
        text.utf8.count == 32 && text.allSatisfy { "0123456789abcdef".contains($0) }
    }

    /// Reads an id back; nil for anything not made by `id` (so a url can
    /// never name another key: only lower-case hex, digits and dashes pass).
    public init?(id: String) {
        let parts = id.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 4, let index = Int(parts[1]), index >= 0 else { return nil }
        let tail = parts[3].split(separator: ".", omittingEmptySubsequences: false)
        guard tail.count == 2 else { return nil }
        let allowed = Set("0123456789abcdef-")
        guard !parts[0].isEmpty, parts[0].count <= 64, parts[0].allSatisfy(allowed.contains),
            !parts[2].isEmpty, parts[2].count <= 64, parts[2].allSatisfy(allowed.contains),
            Self.isToken(tail[0]),
            OutputFormat.allCases.contains(where: { $0.fileExtension == tail[1] })
        else { return nil }
        self.init(batchID: String(parts[0]), index: index, recipeHash: String(parts[2]), token: String(tail[0]), fileExtension: String(tail[1]))
    }

    /// The media type of its extension.
    public var mediaType: String {
        OutputFormat.allCases.first { $0.fileExtension == fileExtension }?.mediaType ?? "application/octet-stream"
    }
}

/// The results folder (`CALOTYPE_RESULTS_DIR`): one file per result, written
/// atomically and read on the blocking-I/O pool.
struct FolderResultStorage: ResultStorage {
    let directory: URL
    let io: NIOThreadPool
    let isShared = false

    func prepare() async throws {
        let directory = self.directory
        try await io.runIfActive {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
    }

    func file(_ name: ResultName) -> URL { directory.appendingPathComponent(name.id) }

    /// The owner is not written: the folder is this process's alone, and
    /// the store's index, which holds every result it serves, keeps it.
    func write(_ bytes: [UInt8], as name: ResultName, mediaType: String, owner: String) async throws {
        let file = self.file(name)
        try await io.runIfActive { try Data(bytes).write(to: file, options: .atomic) }
    }

    func read(_ name: ResultName) async throws -> StoredResult? {
        let file = self.file(name)
        return try await io.runIfActive {
            guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
            return StoredResult(bytes: [UInt8](data), mediaType: name.mediaType)
        }
    }

    func delete(_ name: ResultName) async throws {
        let file = self.file(name)
        try await io.runIfActive {
            do {
                try FileManager.default.removeItem(at: file)
            } catch CocoaError.fileNoSuchFile {
                // Gone already.
            }
        }
    }
}
