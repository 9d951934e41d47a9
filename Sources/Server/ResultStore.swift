import Backends
import Foundation
import NIOPosix

/// Finished results kept on disk for `GET /results/{id}`: for a limited time
/// and up to a size cap, the oldest going first. Files are written and read
/// on the blocking-I/O pool.
actor ResultStore {
    struct Entry {
        let file: URL
        let size: Int
        let mediaType: String
        var expires: ContinuousClock.Instant
    }

    private let directory: URL
    private let lifetime: Duration
    private let maxBytes: Int
    private let io: NIOThreadPool
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var totalBytes = 0

    init(directory: URL, lifetime: Duration, maxBytes: Int, io: NIOThreadPool = .singleton) {
        self.directory = directory
        self.lifetime = lifetime
        self.maxBytes = maxBytes
        self.io = io
    }

    /// Empties the folder (results of an earlier run are gone with its ids).
    func prepare() async throws {
        let directory = self.directory
        try await io.runIfActive {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
    }

    /// Keeps `bytes` and returns their id, or nil when they alone exceed the cap.
    func put(_ bytes: [UInt8], format: OutputFormat) async throws -> String? {
        guard bytes.count <= maxBytes else { return nil }
        evict(toFit: bytes.count)
        let id = UUID().uuidString.lowercased()
        let file = directory.appendingPathComponent("\(id).\(format.fileExtension)")
        try await io.runIfActive { try Data(bytes).write(to: file, options: .atomic) }
        entries[id] = Entry(file: file, size: bytes.count, mediaType: format.mediaType, expires: .now + lifetime)
        order.append(id)
        totalBytes += bytes.count
        return id
    }

    func get(_ id: String) async -> (bytes: [UInt8], mediaType: String)? {
        evict(toFit: 0)
        guard let entry = entries[id] else { return nil }
        guard let bytes = try? await io.runIfActive({ try [UInt8](Data(contentsOf: entry.file)) }) else { return nil }
        return (bytes, entry.mediaType)
    }

    /// Restarts the lifetime of the results `ids` (a posted batch's, when it
    /// ends, so that its results stay as long as the batch does).
    func renew(_ ids: [String]) {
        let expires = ContinuousClock.now + lifetime
        for id in ids {
            entries[id]?.expires = expires
        }
    }

    /// Drops expired results, then the oldest until `incoming` more bytes fit.
    private func evict(toFit incoming: Int) {
        let now = ContinuousClock.now
        var kept: [String] = []
        for id in order {
            guard let entry = entries[id] else { continue }
            if entry.expires <= now || totalBytes + incoming > maxBytes {
                remove(id, entry)
            } else {
                kept.append(id)
            }
        }
        order = kept
    }

    private func remove(_ id: String, _ entry: Entry) {
        entries[id] = nil
        totalBytes -= entry.size
        let file = entry.file
        io.submit { _ in try? FileManager.default.removeItem(at: file) }
    }
}
