import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix
import TestSupport
import Testing

@testable import CalotypeBench

/// The pieces of `calotype bench` that can be checked without running it.
@Suite("calotype bench internals")
struct BenchInternalsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The raw baseline must do the work Calotype does, or the ratio between
    /// them means nothing: same bytes out, fast shrink or not, ICC or not.
    @Test(arguments: [
        "width=800&format=jpeg&quality=80", "width=800&fast_shrink=false&format=jpeg&quality=80", "width=300&height=300&format=webp&quality=70",
    ])
    func theRawBaselineWritesTheSameBytesAsCalotype(_ shorthand: String) async throws {
        let recipe = try Recipe(shorthand: shorthand)
        let plan = try RawLibvipsPlan.make(for: recipe).get()
        let photo = try await offThePool { try SyntheticImage.photo(width: 2400, height: 1600, seed: 3) }
        let tagged = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("photo.jpg")))
        let backend = try libvips
        for bytes in [photo, tagged] {
            let calotype = try await backend.process(ImageInput(bytes: bytes), recipe: recipe)
            let raw = try await offThePool { try RawLibvipsBaseline.thumbnail(bytes, plan: plan).get() }
            #expect(raw == Array(calotype.bytes))
        }
    }

    @Test func batchesAreSplitIntoRequestsWithinTheServersDefaultLimits() {
        func images(_ sizes: [Int]) -> [BenchImages.Image] {
            sizes.enumerated().map { BenchImages.Image(name: "\($0.offset)", bytes: [UInt8](repeating: 0, count: $0.element), width: 1, height: 1) }
        }
        let mib = 1 << 20
        #expect(HTTPModes.requestChunks(images(Array(repeating: 10, count: 250))).map(\.count) == [100, 100, 50])
        let big = HTTPModes.requestChunks(images([40 * mib, 40 * mib, 40 * mib, 200 * mib, 1]))
        #expect(big.map { $0.map(\.name) } == [["0", "1"], ["2"], ["3"], ["4"]], "in order, each within 96 MiB unless one image alone is larger")
        #expect(HTTPModes.requestChunks([]).isEmpty)
    }

    @Test func recipesOtherThanOneResizeHaveNoRawBaseline() throws {
        #expect(throws: RawPlanUnavailable.self) { try RawLibvipsPlan.make(for: Recipe(shorthand: "width=800&blur=2")).get() }
        #expect(throws: RawPlanUnavailable.self) { try RawLibvipsPlan.make(for: Recipe(shorthand: "width=80&height=80&fit=cover")).get() }
    }

    @Test func theEventStreamReaderTakesChunksCutAnywhere() {
        let stream =
            ": comment\r\nid: 1\r\nevent: result\r\ndata: {\"index\":0}\r\n\r\nevent: progress\ndata: a\ndata: b\n\nevent: complete\rdata: {}\r\r"
        let bytes = Array(stream.utf8)
        for size in [1, 2, 3, 7, bytes.count] {
            var reader = EventStreamReader()
            var events: [EventStreamReader.Event] = []
            for start in stride(from: 0, to: bytes.count, by: size) {
                events += reader.feed(bytes[start..<min(start + size, bytes.count)])
            }
            #expect(
                events == [
                    .init(type: "result", data: "{\"index\":0}", id: "1"),
                    .init(type: "progress", data: "a\nb", id: "1"),
                    .init(type: "complete", data: "{}", id: "1"),
                ],
                "chunks of \(size)"
            )
        }
    }

    @Test func percentilesAreObservedValues() {
        let sorted = (1...100).map(Double.init)
        #expect(Percentiles.value(50, ofSorted: sorted) == 50)
        #expect(Percentiles.value(99, ofSorted: sorted) == 99)
        #expect(Percentiles.value(100, ofSorted: sorted) == 100)
        #expect(Percentiles.value(95, ofSorted: [3]) == 3)
        #expect(Spread([4, 1, 3]) == Spread(median: 3, min: 1, max: 4))
    }
}
