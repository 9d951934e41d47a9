import CalotypeApp
import CalotypeCore
import Foundation
@testable import Server
import Testing

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

    func files(_ directory: URL) -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
    }

    @Test func aResultIsServedAtOnceThenFromItsFile() async throws {
        let (store, directory) = try await store()
        let bytes: [UInt8] = Array("a result".utf8)
        let id = try #require(await store.put(bytes, format: .png))
        // Before or after its file is written, the same bytes.
        #expect(await store.get(id)?.bytes == bytes)
        await store.settle()
        #expect(!(await store.isInMemory(id)), "memory is given back once the file is written")
        #expect(files(directory) == ["\(id).png"])
        let served = try #require(await store.get(id))
        #expect(served.bytes == bytes && served.mediaType == "image/png")
    }

    @Test func evictedResultsLeaveNoFilesEvenWhenEvictedWhileBeingWritten() async throws {
        let (store, directory) = try await store(maxBytes: 10)
        let first = try #require(await store.put(Array(repeating: 1, count: 8), format: .png))
        // The cap forces the first out, possibly before its file exists.
        let second = try #require(await store.put(Array(repeating: 2, count: 8), format: .png))
        await store.settle()
        #expect(await store.get(first) == nil)
        #expect(await store.get(second)?.bytes == Array(repeating: 2, count: 8))
        #expect(await store.put(Array(repeating: 3, count: 11), format: .png) == nil, "larger than the cap alone")
        await store.settle()
        #expect(files(directory) == ["\(second).png"])
    }
}
