import Backends
import Foundation
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
