import BackendTestSupport
import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOConcurrencyHelpers
import TestSupport
import Testing

@Suite("Untrusted input: each a clean, typed error")
struct HostileInputTests {
    func failure(_ bytes: [UInt8], _ shorthand: String = "width=100", limits: ImageLimits = ImageLimits()) async throws -> ProcessingError? {
        let backend = try LibvipsBackend(configuration: .init(limits: limits), threadPool: .singleton)
        return await #expect(throws: ProcessingError.self) {
            try await backend.process(ImageInput(bytes: bytes, name: "upload.jpg"), recipe: try recipe(shorthand))
        }
    }

    @Test func emptyInput() async throws {
        let error = try await failure([])
        #expect(error?.code == .corrupt && error?.message.contains("empty") == true)
    }

    @Test func textNamedLikeAJPEG() async throws {
        let error = try await failure(Array("just some text, not a picture\n".utf8))
        #expect(error?.code == .unsupportedFormat)
        #expect(error?.message.contains("upload.jpg") == true)
    }

    @Test(arguments: [true, false])
    func truncatedJPEG(fastShrink: Bool) async throws {
        let whole = try Fixture.photoJPEG.bytes
        let error = try await failure(Array(whole.prefix(whole.count / 2)), "width=100&fast_shrink=\(fastShrink)")
        #expect(error?.code == .corrupt)
        #expect(error?.blame == .input)
    }

    @Test func truncatedJPEGWithoutResize() async throws {
        let whole = try Fixture.photoJPEG.bytes
        let error = try await failure(Array(whole.prefix(whole.count / 2)), "format=png")
        #expect(error?.code == .corrupt)
    }

    @Test func truncatedPNG() async throws {
        let whole = try Fixture.alphaPNG.bytes
        let error = try await failure(Array(whole.prefix(whole.count * 2 / 3)), "format=png")
        #expect(error?.code == .corrupt)
    }

    @Test func pngDeclaringThirtyThousandSquare() async throws {
        let error = try await failure(try Fixture.hugeHeaderPNG.bytes)
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("30000x30000") == true)
    }

    @Test func pixelLimitIsConfigurable() async throws {
        let error = try await failure(try Fixture.photoJPEG.bytes, limits: ImageLimits(maxPixels: 10_000))
        #expect(error?.code == .tooLarge)
    }

    @Test func byteLimit() async throws {
        let error = try await failure(try Fixture.photoJPEG.bytes, limits: ImageLimits(maxBytes: 1000))
        #expect(error?.code == .tooLarge)
    }

    @Test func pdfIsRefused() async throws {
        let error = try await failure(try Fixture.pdf.bytes)
        #expect(error?.code == .unsupportedFormat)
    }

    @Test func matrixFileIsRefused() async throws {
        let error = try await failure(try Fixture.matrix.bytes)
        #expect(error?.code == .unsupportedFormat)
    }

    @Test func svgIsRefused() async throws {
        let svg = #"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#
        let error = try await failure(Array(svg.utf8))
        #expect(error?.code == .unsupportedFormat)
    }

    @Test func garbageAfterAJPEGHeader() async throws {
        var bytes = try Fixture.photoJPEG.bytes
        for index in stride(from: 600, to: bytes.count - 2, by: 7) { bytes[index] = 0xFF }
        let error = try await failure(bytes, "format=png")
        #expect(error?.code == .corrupt)
    }

    @Test func manyBadInputsLeaveTheBackendWorking() async throws {
        let inputs: [[UInt8]] = [[], Array("nope".utf8), try Fixture.pdf.bytes, try Fixture.hugeHeaderPNG.bytes]
        for bytes in inputs {
            _ = try await failure(bytes)
        }
        let result = try await libvips.process(try Fixture.photoJPEG.input, recipe: try recipe("width=10"))
        #expect(result.width == 10)
    }
}

@Suite("Cancellation of libvips jobs")
struct CancellationTests {
    @Test func theKillFlagStopsAComputationInProgress() throws {
        let bytes = try Fixture.photoJPEG.bytes
        let result: Result<Int, ProcessingError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProcessingError) in
                let source = try LibvipsSource(buffer, name: "photo.jpg", limits: ImageLimits())
                let image = try source.open(access: VIPS_ACCESS_SEQUENTIAL)
                let killSwitch = KillSwitch()
                return try killSwitch.watching(image) { () throws(ProcessingError) -> Int in
                    killSwitch.cancel()  // while the image is watched, before its pixels are computed
                    return try image.pixels().count
                }
            }
        }
        #expect(throws: ProcessingError.self) { try result.get() }
        if case .failure(let error) = result { #expect(error.code == .cancelled) }
    }

    @Test func aCancelledTaskEndsItsJobAsCancelled() async throws {
        let backend = try libvips
        let input = try Fixture.photoJPEG.input
        let slow = Recipe([.resize(try Resize(width: 2000, enlarge: true)), .blur(try Blur(sigma: 60))], output: try OutputOptions(format: .png))
        let task = Task { try await backend.process(input, recipe: slow) }
        task.cancel()
        let error = await #expect(throws: ProcessingError.self) { try await task.value }
        #expect(error?.code == .cancelled)
        // The backend is still usable afterwards.
        #expect(try await backend.process(input, recipe: try recipe("width=10")).width == 10)
    }

    /// 16 blurs of sigma 100 on 2 MP run for minutes on one core. As one lazy
    /// graph, the first output strip asks the lower blurs for nearly all
    /// their pixels before libvips looks at the kill flag again: cancelled
    /// 0.7 s in, it took 19.4 s to stop. Rendered stage by stage, it stops
    /// within a tile: 0.65 s on this 2-core machine when idle. The job runs on
    /// a thread of its own that notes when it ended, so the figure is the
    /// job's, not how long a busy test run takes to resume this test.
    @Test func cancellingADeepChainMidComputationEndsItPromptly() async throws {
        _ = try libvips  // libvips is started
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 1600, height: 1200, seed: 3) }
        let deep = Recipe(Array(repeating: .blur(try Blur(sigma: 100)), count: 16), output: try OutputOptions(format: .png))
        let killSwitch = KillSwitch()
        let ended = NIOLockedValueBox<(outcome: Result<ProcessedImage, ProcessingError>, at: ContinuousClock.Instant)?>(nil)
        let job = Thread {
            let outcome = photo.withUnsafeBytes { buffer in
                Result { () throws(ProcessingError) in
                    try killSwitch.running { () throws(ProcessingError) in
                        try LibvipsPipeline.run(
                            buffer,
                            name: "deep.jpg",
                            recipe: deep,
                            limits: ImageLimits(),
                            writableFormats: [.png],
                            backend: "libvips",
                            killSwitch: killSwitch
                        )
                    }
                }
            }
            vips_thread_shutdown()
            ended.withLockedValue { $0 = (outcome, ContinuousClock.now) }
        }
        job.start()
        // Not synchronisation: the job is cancelled however far it got; the
        // wait only makes it likely that its pixels are being computed.
        try await Task.sleep(for: .milliseconds(700))
        let cancelled = ContinuousClock.now
        killSwitch.cancel()
        while ended.withLockedValue({ $0 == nil }) { try await Task.sleep(for: .milliseconds(20)) }
        let (outcome, at) = try #require(ended.withLockedValue { $0 })
        #expect(throws: ProcessingError.self) { try outcome.get() }
        if case .failure(let error) = outcome { #expect(error.code == .cancelled) }
        #expect(at - cancelled < .seconds(5), "the job ran \(at - cancelled) after it was cancelled")
    }
}

@Suite("Image sizes from headers")
struct ImageSizeTests {
    @Test(arguments: [
        (Fixture.photoJPEG, 320, 240), (.exifRotatedJPEG, 240, 320), (.alphaPNG, 128, 96), (.photoWebP, 320, 240),
        (.photoGIF, 128, 96), (.hugeHeaderPNG, 30000, 30000),
    ])
    func readsTheDeclaredSize(_ fixture: Fixture, _ width: Int, _ height: Int) throws {
        #expect(ImageSize.sniff(try fixture.bytes) == ImageSize(width: width, height: height))
    }

    @Test func lossyAndLosslessWebP() async throws {
        let lossless = try await libvips.process(try Fixture.alphaPNG.input, recipe: try recipe("format=webp&quality=100"))
        #expect(ImageSize.sniff(lossless.bytes) == ImageSize(width: 128, height: 96))
    }

    @Test func unknownOrDamagedHeadersGiveNil() throws {
        #expect(ImageSize.sniff([]) == nil)
        #expect(ImageSize.sniff(Array("hello".utf8)) == nil)
        #expect(ImageSize.sniff(try Fixture.pdf.bytes) == nil)
        #expect(ImageSize.sniff(Array(try Fixture.photoJPEG.bytes.prefix(40))) == nil)
        #expect(ImageSize.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00]) == nil)
    }
}

@Suite("libvips error text")
struct ErrorTextTests {
    /// libvips keeps one error buffer for the process; text left in it by
    /// one job must not appear in the next job's error.
    @Test func aJobsErrorCarriesNoTextLeftByAnother() async throws {
        let backend = try libvips  // libvips is started before its error buffer is touched
        cv_error_add("elsewhere", "stale text from another job")
        let whole = try Fixture.photoJPEG.bytes
        let error = await #expect(throws: ProcessingError.self) {
            try await backend.process(ImageInput(bytes: Array(whole.prefix(whole.count / 2)), name: "cut.jpg"), recipe: try recipe("format=png"))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.detail?.contains("stale") != true)
    }
}
