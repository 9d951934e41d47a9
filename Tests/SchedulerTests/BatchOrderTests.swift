import CalotypeCore
import Scheduler
import Testing

@Suite("Batch order")
struct BatchOrderTests {
    /// PNG headers declaring these sizes, in this input order: the order
    /// reads headers only, so no pixels are needed.
    static func inputs(_ sizes: [(Int, Int)]) throws -> [ImageInput] {
        sizes.enumerated().map { index, size in
            ImageInput(bytes: pngHeader(width: size.0, height: size.1), name: "\(index).png")
        }
    }

    /// The PNG signature and an IHDR chunk (8-bit RGB; the CRC is not read).
    static func pngHeader(width: Int, height: Int) -> [UInt8] {
        func bigEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        return [0x89] + Array("PNG\r\n\u{1A}\n".utf8) + bigEndian(13) + Array("IHDR".utf8)
            + bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0] + [0, 0, 0, 0]
    }

    @Test func severalAtATimeStartTheSmallestThenTheLargestFirst() throws {
        // Pixels: 1200, 20000, 10000, 100, 6000, 10000.
        let inputs = try Self.inputs([(40, 30), (200, 100), (100, 100), (10, 10), (300, 20), (50, 200)])
        #expect(BatchOrder.indices(of: inputs, parallelism: 2) == [3, 1, 2, 5, 4, 0], "equal sizes keep input order")
        #expect(BatchOrder.indices(of: inputs, parallelism: 8) == [3, 1, 2, 5, 4, 0])
    }

    @Test func oneAtATimeOrTinyBatchesKeepInputOrder() throws {
        let inputs = try Self.inputs([(40, 30), (200, 100), (10, 10)])
        #expect(BatchOrder.indices(of: inputs, parallelism: 1) == [0, 1, 2])
        #expect(BatchOrder.indices(of: Array(inputs.prefix(2)), parallelism: 4) == [0, 1])
        #expect(BatchOrder.indices(of: [], parallelism: 4) == [])
    }

    @Test func unreadableHeadersAreGuessedFromTheirSize() throws {
        var inputs = try Self.inputs([(10, 10), (20, 20)])
        // Not a header the sniffer reads: 3 MB of bytes count as about 10 MP.
        inputs.append(ImageInput(bytes: [UInt8](repeating: 0, count: 3_000_000), name: "mystery.tif"))
        #expect(BatchOrder.indices(of: inputs, parallelism: 2) == [0, 2, 1])
    }
}
