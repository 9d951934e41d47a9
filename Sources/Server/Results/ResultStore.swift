import CalotypeCore
import CoreMetrics
import Foundation
import Logging
import NIOPosix

/// Finished results kept for `GET /results/{id}`: for a limited time and up
/// to a size cap, the oldest going first, in a `ResultStorage` (the folder,
/// or S3).
///
/// `put` answers at once: the bytes are served from memory until their file
/// is written (and for good if writing fails), so a batch's next item never
/// waits for the disk (that wait cost `/process-batch-fast` about 5% of its
/// throughput on 2 workers).
actor ResultStore {
    struct Entry {
        let name: ResultName
        let size: Int
        let mediaType: String
        /// The tenant whose batch made it: only it (or `admin`) reads it.
        let owner: String
        var expires: ContinuousClock.Instant
        /// The bytes, until the file holds them.
        var pending: [UInt8]?
    }

    private let storage: any ResultStorage
    private let lifetime: Duration
    private let maxBytes: Int
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var totalBytes = 0
    /// Files being written or deleted.
    private var fileWork: [UUID: Task<Void, Never>] = [:]
    /// A storage error is never dropped unseen: each is logged with the
    /// result's name (its batch) and counted in
    /// `calotype_result_storage_errors_total{operation}`.
    private static let logger = Logger(label: "calotype.results")
    private let metrics: any MetricsFactory

    init(storage: any ResultStorage, lifetime: Duration, maxBytes: Int, metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.metrics = metrics
        self.storage = storage
        self.lifetime = lifetime
        self.maxBytes = maxBytes
    }

    /// A store in the folder `directory`.
    init(directory: URL, lifetime: Duration, maxBytes: Int, io: NIOThreadPool = .singleton) {
        self.init(storage: FolderResultStorage(directory: directory, io: io), lifetime: lifetime, maxBytes: maxBytes)
    }

    /// Readies the storage (the folder is emptied: results of an earlier run
    /// are gone with its ids).
    func prepare() async throws {
        try await storage.prepare()
    }

    /// Keeps `bytes` under `name` and returns its id at once, or nil when
    /// they alone exceed the cap. The storage is written in the background.
    func put(_ bytes: [UInt8], as name: ResultName, format: OutputFormat, owner: String) -> String? {
        guard bytes.count <= maxBytes else { return nil }
        let id = keep(name, size: bytes.count, format: format, owner: owner, pending: bytes)
        let storage = self.storage
        inBackground { store in
            var written = true
            do {
                try await storage.write(bytes, as: name, mediaType: format.mediaType, owner: owner)
            } catch {
                // Still served from memory (`finishedWriting` keeps the bytes).
                store.storageFailed("write", name, error)
                written = false
            }
            await store.finishedWriting(id, name: name, written: written)
        }
        return id
    }

    /// Keeps `bytes` under `name` once the storage has them, and only then
    /// returns its id: a cluster's results, which another node may serve as
    /// soon as the item is recorded. Nil when they exceed the cap or the
    /// write failed.
    func putWritten(_ bytes: [UInt8], as name: ResultName, format: OutputFormat, owner: String) async -> String? {
        guard bytes.count <= maxBytes else { return nil }
        do {
            try await storage.write(bytes, as: name, mediaType: format.mediaType, owner: owner)
        } catch {
            storageFailed("write", name, error)
            return nil
        }
        return keep(name, size: bytes.count, format: format, owner: owner, pending: nil)
    }

    /// Lists a result (its bytes while they are `pending` a write), making
    /// room under the cap first; a name written again (a retry: the same
    /// bytes) replaces its entry.
    private func keep(_ name: ResultName, size: Int, format: OutputFormat, owner: String, pending: [UInt8]?) -> String {
        evict(toFit: size)
        let id = name.id
        if let previous = entries[id] {
            remove(id, previous, deleting: false)
            order.removeAll { $0 == id }
        }
        entries[id] = Entry(name: name, size: size, mediaType: format.mediaType, owner: owner, expires: .now + lifetime, pending: pending)
        order.append(id)
        totalBytes += size
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

    private func delete(_ name: ResultName) {
        let storage = self.storage
        inBackground { store in
            do {
                try await storage.delete(name)
            } catch {
                store.storageFailed("delete", name, error)
            }
        }
    }

    /// Whether `id`'s bytes are still served from memory (not yet, or never, on disk).
    func isInMemory(_ id: String) -> Bool {
        entries[id]?.pending != nil
    }

    /// The result `id` if `tenant` may read it: nil when there is none, and
    /// when another tenant's batch made it (`GET /results/{id}` answers 404
    /// for both, so that a leaked url does not even confirm it exists).
    func get(_ id: String, for tenant: Tenant) async -> (bytes: [UInt8], mediaType: String)? {
        evict(toFit: 0)
        guard let entry = entries[id] else { return await getShared(id, for: tenant) }
        guard tenant.mayRead(batchOf: entry.owner) else { return nil }
        if let pending = entry.pending { return (pending, entry.mediaType) }
        guard let stored = await read(entry.name) else { return nil }
        return (stored.bytes, entry.mediaType)
    }

    /// A result this store did not write (another node's, or from before a
    /// restart), from shared storage, while it is younger than the lifetime
    /// and if `tenant` may read it (one stored without its owner, by an
    /// earlier version, only `admin`).
    private func getShared(_ id: String, for tenant: Tenant) async -> (bytes: [UInt8], mediaType: String)? {
        guard storage.isShared, let name = ResultName(id: id), let stored = await read(name) else { return nil }
        if let written = stored.written, Date().timeIntervalSince(written) > lifetime.seconds { return nil }
        guard tenant.seesEveryBatch || stored.owner.map(tenant.mayRead(batchOf:)) == true else { return nil }
        return (stored.bytes, stored.mediaType)
    }

    /// The stored bytes; nil when there are none, or when the storage
    /// failed (logged and counted: the client gets 404, the operator a line).
    private func read(_ name: ResultName) async -> StoredResult? {
        do {
            return try await storage.read(name)
        } catch {
            storageFailed("read", name, error)
            return nil
        }
    }

    private nonisolated func storageFailed(_ operation: String, _ name: ResultName, _ error: any Error) {
        Self.logger.warning(
            "result storage \(operation) failed",
            metadata: ["result": "\(name.id)", "batch": "\(name.batchID)", "error": "\(error)"]
        )
        Counter(label: "calotype_result_storage_errors_total", dimensions: [("operation", operation)], factory: metrics).increment()
    }

    /// The storage holds it: drop the copy in memory, or the stored copy
    /// when its result was evicted meanwhile. A failed write keeps serving
    /// from memory.
    private func finishedWriting(_ id: String, name: ResultName, written: Bool) {
        guard entries[id] != nil else {
            if written { delete(name) }
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

    private func remove(_ id: String, _ entry: Entry, deleting: Bool = true) {
        entries[id] = nil
        totalBytes -= entry.size
        if deleting { delete(entry.name) }
    }
}
