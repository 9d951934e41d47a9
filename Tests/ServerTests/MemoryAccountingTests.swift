import CalotypeCore
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import Scheduler
@testable import Server

/// What the memory budget counts beyond a job's decoded pixels: an answer's
/// encoded bytes until they are written.
@Suite("Memory accounting", .timeLimit(.minutes(1)))
struct MemoryAccountingTests {
    struct CollectingWriter: ResponseBodyWriter {
        let collected: NIOLockedValueBox<[UInt8]>
        mutating func write(_ buffer: ByteBuffer) async throws { collected.withLockedValue { $0 += Array(buffer: buffer) } }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    @Test func anAnswersBytesCountUntilTheyAreWritten() async throws {
        let budget = MemoryBudget(limit: 1 << 30)
        let bytes = [UInt8](repeating: 7, count: 300_000)
        let image = ProcessedImage(
            bytes: EncodedBytes(bytes),
            format: .png,
            width: 1,
            height: 1,
            sourceFormat: .png,
            backend: "test",
            timings: StageTimings()
        )
        let result = JobResult(image: image, lane: "test", kind: .cpu, fallback: false, retried: false, queueWait: .zero, serviceTime: .zero)
        let response = CalotypeServer.imageResponse(result, budget: budget)
        #expect(budget.used == bytes.count)
        #expect(response.body.contentLength == bytes.count)
        let collected = NIOLockedValueBox<[UInt8]>([])
        try await response.body.write(CollectingWriter(collected: collected))
        #expect(collected.withLockedValue { $0 } == bytes)
        #expect(budget.used == 0)
    }
}
