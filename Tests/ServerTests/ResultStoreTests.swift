import CalotypeApp
import CalotypeCore
import Foundation
import Testing

@testable import Server

@Suite("Result store")
struct ResultStoreTests {
    func store(maxBytes: Int = 1 << 20) async throws -> (ResultStore, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-results-\(UUID().uuidString)")
        // Long enough that no result expires during a test, however slowly
        // it runs (under ThreadSanitizer a busy I/O pool took over a minute).
        let store = ResultStore(directory: directory, lifetime: .seconds(3600), maxBytes: maxBytes)
        try await store.prepare()
        return (store, directory)
    }

    func name(_ index: Int) -> ResultName {
        ResultName(
            batchID: "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab",
            index: index,
            recipeHash: "00ff00ff00ff",
            token: "0123456789abcdef0123456789abcdef",
            fileExtension: "png"
        )
    }

    func files(_ directory: URL) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
    }

    /// A storage that fails every call, as a full disk or an S3 outage does.
    struct BrokenStorage: ResultStorage {
        struct Down: Error {}
        let isShared = true
        func prepare() async throws {}
        func write(_ bytes: [UInt8], as name: ResultName, mediaType: String, owner: String) async throws { throw Down() }
        func read(_ name: ResultName) async throws -> StoredResult? { throw Down() }
        func delete(_ name: ResultName) async throws { throw Down() }
    }

    /// No storage error is dropped unseen: the store still serves what it
    /// can, and each failure is counted where `/metrics` reads.
    @Test func storageFailuresAreCountedAndTheResultIsStillServedFromMemory() async throws {
        let telemetry = Telemetry()
        let store = ResultStore(storage: BrokenStorage(), lifetime: .seconds(3600), maxBytes: 1 << 20, metrics: telemetry.metrics)
        let id = try #require(await store.put([1, 2, 3], as: name(0), format: .png, owner: "web"))
        await store.settle()
        #expect(await store.get(id, for: .open)?.bytes == [1, 2, 3], "a failed write keeps serving from memory")
        #expect(await store.putWritten([4], as: name(1), format: .png, owner: "web") == nil)
        #expect(await store.get(name(2).id, for: .open) == nil, "a failed read of another node's result is a 404")
        let metrics = String(decoding: telemetry.registry.emitToBuffer(), as: UTF8.self)
        #expect(metrics.contains(#"calotype_result_storage_errors_total{operation="write"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"calotype_result_storage_errors_total{operation="read"} 1"#), "\(metrics)")
    }

    @Test func aResultIsServedAtOnceThenFromItsFile() async throws {
        let (store, directory) = try await store()
        let bytes: [UInt8] = Array("a result".utf8)
        let id = try #require(await store.put(bytes, as: name(0), format: .png, owner: "web"))
        // Before or after its file is written, the same bytes.
        #expect(await store.get(id, for: .open)?.bytes == bytes)
        await store.settle()
        #expect(!(await store.isInMemory(id)), "memory is given back once the file is written")
        #expect(files(directory) == [id] && id == name(0).id)
        let served = try #require(await store.get(id, for: .open))
        #expect(served.bytes == bytes && served.mediaType == "image/png")
    }

    @Test func evictedResultsLeaveNoFilesEvenWhenEvictedWhileBeingWritten() async throws {
        let (store, directory) = try await store(maxBytes: 10)
        let first = try #require(await store.put(Array(repeating: 1, count: 8), as: name(0), format: .png, owner: "web"))
        // The cap forces the first out, possibly before its file exists.
        let second = try #require(await store.put(Array(repeating: 2, count: 8), as: name(1), format: .png, owner: "web"))
        await store.settle()
        #expect(await store.get(first, for: .open) == nil)
        #expect(await store.get(second, for: .open)?.bytes == Array(repeating: 2, count: 8))
        #expect(await store.put(Array(repeating: 3, count: 11), as: name(2), format: .png, owner: "web") == nil, "larger than the cap alone")
        await store.settle()
        #expect(files(directory) == [second])
    }

    @Test func aRetriedWriteReplacesTheSameName() async throws {
        let (store, directory) = try await store()
        let first = try #require(await store.put(Array("one".utf8), as: name(0), format: .png, owner: "web"))
        let again = try #require(await store.put(Array("one".utf8), as: name(0), format: .png, owner: "web"))
        await store.settle()
        #expect(first == again && files(directory) == [first])
        #expect(await store.get(first, for: .open)?.bytes == Array("one".utf8))
    }

    /// A result url names its batch's result whoever holds it: the store
    /// hands the bytes only to the tenant whose batch made them, or to an
    /// `admin` key (404 to anyone else, as for a batch).
    @Test func aResultIsReadOnlyByItsOwnerOrAnAdmin() async throws {
        let (store, _) = try await store()
        let id = try #require(await store.put(Array("mine".utf8), as: name(0), format: .png, owner: "web"))
        let web = Tenant(name: "web", scopes: [.batches])
        let other = Tenant(name: "other", scopes: [.batches])
        let root = Tenant(name: "root", scopes: [.admin])
        #expect(await store.get(id, for: other) == nil, "another tenant's result, in memory")
        await store.settle()
        #expect(await store.get(id, for: other) == nil, "another tenant's result, from its file")
        #expect(await store.get(id, for: web)?.bytes == Array("mine".utf8))
        #expect(await store.get(id, for: root)?.bytes == Array("mine".utf8))
    }

    /// Storage shared between nodes, kept in memory: what it was given.
    actor SharedStorage: ResultStorage {
        nonisolated let isShared = true
        var objects: [String: StoredResult] = [:]
        func prepare() async throws {}
        func write(_ bytes: [UInt8], as name: ResultName, mediaType: String, owner: String) async throws {
            objects[name.id] = StoredResult(bytes: bytes, mediaType: mediaType, written: Date(), owner: owner)
        }
        func read(_ name: ResultName) async throws -> StoredResult? { objects[name.id] }
        func delete(_ name: ResultName) async throws { objects[name.id] = nil }
        func store(_ result: StoredResult, as name: ResultName) { objects[name.id] = result }
    }

    /// Another node's result (read from shared storage by a store that did
    /// not write it) is refused to another tenant by the owner stored with
    /// it; one stored without an owner (an earlier version's) only to `admin`.
    @Test func anotherNodesResultIsReadOnlyByItsOwnerOrAnAdmin() async throws {
        let storage = SharedStorage()
        let writer = ResultStore(storage: storage, lifetime: .seconds(3600), maxBytes: 1 << 20)
        let reader = ResultStore(storage: storage, lifetime: .seconds(3600), maxBytes: 1 << 20)
        let id = try #require(await writer.putWritten(Array("mine".utf8), as: name(0), format: .png, owner: "web"))
        #expect(await reader.get(id, for: Tenant(name: "other", scopes: [.batches])) == nil)
        #expect(await reader.get(id, for: Tenant(name: "web", scopes: [.batches]))?.bytes == Array("mine".utf8))
        #expect(await reader.get(id, for: Tenant(name: "root", scopes: [.admin]))?.bytes == Array("mine".utf8))
        await storage.store(StoredResult(bytes: [7], mediaType: "image/png", written: Date()), as: name(1))
        #expect(await reader.get(name(1).id, for: Tenant(name: "web", scopes: [.batches])) == nil, "no owner stored: not a tenant's")
        #expect(await reader.get(name(1).id, for: .open)?.bytes == [7], "an open server's one tenant is admin")
    }

    /// Ids come back from urls: only what `id` makes is read, so a url
    /// cannot name another key or file.
    @Test func onlyWellFormedIdsAreRead() {
        #expect(ResultName(id: name(3).id) == name(3))
        let token = "0123456789abcdef0123456789abcdef"
        for id in [
            "../etc/passwd", "a_1_ff_\(token).png/../x", "A_1_ff_\(token).png", "a_-1_ff_\(token).png", "a_1_ff_\(token).exe", "a_1_ff_\(token)",
            "a_1_ff_\(token).png.png", "a__ff_\(token).png", "", "a_1_f f_\(token).png",
            // Without its token, or with one that is not 32 hex digits: the batch id and index alone lead nowhere.
            "a_1_ff.png", "a_1_ff_.png", "a_1_ff_0123.png", "a_1_ff_\(token.uppercased()).png", "a_1_ff_\(token)0.png",
        ] {
            #expect(ResultName(id: id) == nil, "\(id)")
        }
    }
}
