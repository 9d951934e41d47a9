import CalotypeCore
import Foundation
import NIOPosix

/// Finished results kept on disk for `GET /results/{id}`: for a limited time
/// and up to a size cap, the oldest going first. Files are written and read
/// on the blocking-I/O pool.
///
/// `put` answers at once: the bytes are served from memory until their file
/// is written (and for good if writing fails), so a batch's next item never
/// waits for the disk (that wait cost `/process-batch-fast` about 5% of its
/// throughput on 2 workers).
actor ResultStore {
    struct Entry {
        let file: URL
        let size: Int
        let mediaType: String
        var expires: ContinuousClock.Instant
        /// The bytes, until the file holds them.
        var pending: [UInt8]?
    }

    private let directory: URL
    private let lifetime: Duration
    private let maxBytes: Int
    private let io: NIOThreadPool
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var totalBytes = 0
    /// Files being written or deleted.
    private var fileWork: [UUID: Task<Void, Never>] = [:]

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

    /// Keeps `bytes` and returns their id at once, or nil when they alone
    /// exceed the cap. The file is written in the background.
    func put(_ bytes: [UInt8], format: OutputFormat) -> String? {
        guard bytes.count <= maxBytes else { return nil }
        evict(toFit: bytes.count)
        let id = UUID().uuidString.lowercased()
        let file = directory.appendingPathComponent("\(id).\(format.fileExtension)")
        entries[id] = Entry(file: file, size: bytes.count, mediaType: format.mediaType, expires: .now + lifetime, pending: bytes)
        order.append(id)
        totalBytes += bytes.count
        let io = self.io
        inBackground { store in
            let written = (try? await io.runIfActive { try Data(bytes).write(to: file, options: .atomic) }) != nil
            await store.finishedWriting(id, file: file, written: written)
        }
        return id
    }

    /// Waits until the files written or deleted so far are done with (at
    /// shutdown, and in tests).
    func settle() async {
        while let work = fileWork.values.first {
            await work.value
        }
    }

    private func inBackground(_ body: @escaping @Sendable (ResultStore) async -> Void) {
        let key = UUID()
        fileWork[key] = Task {
            await body(self)
            self.finishedFileWork(key)
        }
    }

    private func finishedFileWork(_ key: UUID) {
        fileWork[key] = nil
    }

    private func delete(_ file: URL) {
        let io = self.io
        inBackground { _ in _ = try? await io.runIfActive { try FileManager.default.removeItem(at: file) } }
    }

    /// Whether `id`'s bytes are still served from memory (not yet, or never, on disk).
    func isInMemory(_ id: String) -> Bool {
        entries[id]?.pending != nil
    }

    func get(_ id: String) async -> (bytes: [UInt8], mediaType: String)? {
        evict(toFit: 0)
        guard let entry = entries[id] else { return nil }
        if let pending = entry.pending { return (pending, entry.mediaType) }
        guard let bytes = try? await io.runIfActive({ try [UInt8](Data(contentsOf: entry.file)) }) else { return nil }
        return (bytes, entry.mediaType)
    }

    /// The file is on disk: drop the copy in memory, or the file when its
    /// result was evicted meanwhile. A failed write keeps serving from memory.
    private func finishedWriting(_ id: String, file: URL, written: Bool) {
        guard entries[id] != nil else {
            if written { delete(file) }
            return
        }
        if written { entries[id]?.pending = nil }
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
        delete(entry.file)
    }
}
