import BackendTestSupport
import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

/// The server's watermark laid by the `watermark` operation: by position
/// and offsets, replicated, at an opacity, scaled to a share of the image.
@Suite("libvips backend: watermark")
struct WatermarkTests {
    /// A 20x10 opaque blue PNG.
    static func blueMark() throws -> WatermarkImage {
        WatermarkImage(bytes: try solidPNG(width: 20, height: 10, colour: [20, 40, 230]), name: "mark.png")
    }

    static func solidPNG(width: Int, height: Int, colour: [UInt8]) throws -> [UInt8] {
        _ = try LibvipsRuntime.shared()
        let pixels = (0..<(width * height)).flatMap { _ in colour }
        let image = try #require(
            pixels.withUnsafeBytes {
                vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), Int32(colour.count), VIPS_FORMAT_UCHAR)
            }
        )
        defer { g_object_unref(image) }
        image.pointee.Type = colour.count < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        try #require(cv_write_to_buffer(image, ".png", &buffer, &length) == 0)
        let bytes = try #require(buffer)
        defer { g_free(bytes) }
        return Array(UnsafeRawBufferPointer(start: bytes, count: length))
    }

    func run(_ bytes: [UInt8], _ shorthand: String, watermark: WatermarkImage? = nil) async throws -> Decoded {
        let backend = try LibvipsBackend(configuration: .init(watermark: watermark ?? Self.blueMark()), threadPool: testJobThreads)
        return try Decoded(try await backend.process(ImageInput(bytes: bytes), recipe: try recipe(shorthand + "&format=png")).bytes)
    }

    static let blue: [UInt8] = [20, 40, 230]

    @Test func aCornerAndItsOffsets() async throws {
        let image = try await run(try GravityTests.quarters(), "watermark=1&watermark_position=south_east")
        #expect((image.width, image.height, image.bands) == (200, 100, 3), "no alpha added")
        #expect(image.pixel(190, 95) == Self.blue && image.pixel(175, 95) == GravityTests.yellow)
        let moved = try await run(
            try GravityTests.quarters(),
            "watermark=1&watermark_position=north_west&watermark_offset_x=30&watermark_offset_y=0.5"
        )
        #expect(moved.pixel(35, 55) == Self.blue && moved.pixel(25, 55) == GravityTests.blue, "30 px in, half the height down")
    }

    @Test func opacityBlendsIt() async throws {
        let image = try await run(try GravityTests.quarters(), "watermark=0.5&watermark_position=south_east")
        let mixed = image.pixel(190, 95)
        let expected = zip(GravityTests.yellow, Self.blue).map { UInt8((Int($0) + Int($1)) / 2) }
        #expect(near(mixed, expected, tolerance: 3), "\(mixed) against \(expected)")
    }

    /// Tiles 30x20 (the mark with 5 px around it): marks at 5...25, 35...55, ...
    @Test func replicatedTilesCoverTheImage() async throws {
        let image = try await run(try GravityTests.quarters(), "watermark=1&watermark_position=replicate&watermark_offset_x=10&watermark_offset_y=10")
        #expect(image.pixel(6, 6) == Self.blue && image.pixel(36, 26) == Self.blue && image.pixel(186, 86) == Self.blue)
        #expect(image.pixel(2, 2) == GravityTests.red && image.pixel(30, 20) == GravityTests.red)
    }

    @Test func scaledToAShareOfTheImage() async throws {
        // Fitted into 100x50: 5 times its size, centred.
        let image = try await run(try GravityTests.quarters(), "watermark=1&watermark_scale=0.5")
        #expect(image.pixel(55, 30) == Self.blue && image.pixel(145, 70) == Self.blue && image.pixel(45, 20) == GravityTests.red)
    }

    /// A share of a tiny image is less than a pixel of watermark: it is
    /// kept at a pixel, not refused by libvips as a 500.
    @Test func aTinyShareIsAPixelAtLeast() async throws {
        let image = try await run(try randomPNG(width: 3, height: 3), "watermark=1&watermark_scale=0.01")
        #expect((image.width, image.height) == (3, 3))
    }

    @Test func aGreyImageComesBackInColourAndWithoutAWatermarkItIsRefused() async throws {
        let grey = try Self.solidPNG(width: 40, height: 40, colour: [128])
        let image = try await run(grey, "watermark=1")
        #expect(image.bands == 3 && image.pixel(20, 20) == Self.blue && image.pixel(2, 2) == [128, 128, 128])
        let bare = try LibvipsBackend(threadPool: testJobThreads)
        let refusal = await #expect(throws: ProcessingError.self) {
            try await bare.process(ImageInput(bytes: grey), recipe: try recipe("watermark=1"))
        }
        #expect(refusal?.code == .invalidRecipe && refusal?.message.contains("CALOTYPE_WATERMARK_PATH") == true)
        // Not an image: refused when the backend starts.
        #expect(throws: ProcessingError.self) {
            try LibvipsBackend(
                configuration: .init(watermark: WatermarkImage(bytes: Array("hello".utf8), name: "mark.txt")),
                threadPool: testJobThreads
            )
        }
    }
}
