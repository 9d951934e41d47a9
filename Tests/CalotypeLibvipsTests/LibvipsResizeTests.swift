import BackendTestSupport
import CVips
import CalotypeCore
import Foundation
import TestSupport
import Testing

@testable import CalotypeLibvips

/// Calotype's horizontal Lanczos pass (`cv_lanczos_reduceh`) must give
/// exactly `vips_resize`'s pixels: every case here compares bytes with
/// libvips' own result, for the SIMD loop and the plain C loop.
@Suite("Resize: libvips' pixels, with the horizontal pass done by Calotype")
struct LibvipsResizeTests {
    /// An 8-bit image of `bands` bands with grain and edges, so that an
    /// arithmetic difference shows.
    static func image(width: Int, height: Int, bands: Int, seed: UInt64 = 7) throws -> VipsImageHandle {
        _ = try LibvipsRuntime.shared()
        let rows = (height * bands + 2) / 3 + 1
        let pixels = Array(SyntheticImage.picture(width: width, height: rows, seed: seed).prefix(width * height * bands))
        let pointer = pixels.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), Int32(bands), VIPS_FORMAT_UCHAR)
        }
        return VipsImageHandle(owning: try unwrap(pointer))
    }

    static func libvips(_ image: VipsImageHandle, _ h: Double, _ v: Double) throws -> VipsImageHandle {
        try image.apply("resize") { cv_resize($0, $1, h, v) }
    }

    @Test func theStartUpCheckFindsThisLibvipsComputingWhatThePortComputes() {
        #expect(LibvipsResize.checkedPortAgrees)
    }

    /// The heavy cases here (seconds of libvips) run on a thread of their
    /// own: a test's synchronous body runs on one of the cooperative
    /// threads (two on a 2-core machine), which the live servers of the
    /// suites beside it answer on.
    @Test(arguments: 1...4)
    func everyScaleAndSizeGivesLibvipsPixels(bands: Int) async throws {
        let mismatches = try await offThePool { () throws -> [String] in
            let sizes = [(1, 1), (2, 3), (17, 5), (400, 250), (1283, 31), (97, 211)]
            let scales = [0.999, 0.8, 0.625, 0.5, 0.4, 0.37, 0.26, 0.2, 0.13, 0.061, 0.01]
            var mismatches: [String] = []
            for (width, height) in sizes {
                let input = try Self.image(width: width, height: height, bands: bands, seed: UInt64(width))
                for scale in scales {
                    let expected = try Self.libvips(input, scale, scale * 0.9).pixels()
                    for loop in LibvipsResize.Loop.allCases {
                        let actual = try LibvipsResize.reduce(input, horizontalScale: scale, verticalScale: scale * 0.9, loop: loop)
                        if try actual.pixels() != expected { mismatches.append("\(width)x\(height)x\(bands) at \(scale), \(loop) loop") }
                    }
                }
            }
            return mismatches
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// libvips steps positions from each region's left edge; a crop after the
    /// resize asks for regions that do not start at 0.
    @Test func aRegionInsideTheRowGivesLibvipsPixelsToo() throws {
        let input = try Self.image(width: 1001, height: 60, bands: 3)
        for (left, width) in [(0, 1), (1, 300), (123, 77), (390, 10), (399, 1)] {
            let expected = try Self.libvips(input, 0.4, 1).apply("crop") { cv_extract_area($0, $1, Int32(left), 5, Int32(width), 40) }
            let actual = try LibvipsResize.resize(input, horizontalScale: 0.4, verticalScale: 1)
                .apply("crop") { cv_extract_area($0, $1, Int32(left), 5, Int32(width), 40) }
            #expect(try actual.pixels() == expected.pixels(), "\(width) from \(left)")
        }
    }

    /// The way the pipeline uses it: a JPEG decoded while it streams, shrunk
    /// by the decoder, then resized.
    @Test func aStreamedJPEGGivesLibvipsPixels() async throws {
        let mismatches = try await offThePool { () throws -> [String] in
            let jpeg = try SyntheticImage.photo(width: 1920, height: 1080, seed: 3)
            return try jpeg.withUnsafeBytes { buffer in
                var mismatches: [String] = []
                for (shrink, scale) in [(2, 0.625), (4, 0.8), (1, 0.3)] {
                    func decoded() throws -> VipsImageHandle {
                        VipsImageHandle(
                            owning: try Self.unwrap(
                                cv_image_new_from_buffer(buffer.baseAddress, buffer.count, "shrink=\(shrink)", VIPS_ACCESS_SEQUENTIAL)
                            )
                        )
                    }
                    let expected = try Self.libvips(try decoded(), scale, scale).pixels()
                    let actual = try LibvipsResize.resize(try decoded(), horizontalScale: scale, verticalScale: scale).pixels()
                    if actual != expected { mismatches.append("shrink \(shrink), scale \(scale)") }
                }
                return mismatches
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// `#require` for a thread that is not the test's (an issue is recorded
    /// in the test's task only): an error the test rethrows.
    static func unwrap<T>(_ value: T?) throws -> T {
        guard let value else { throw ProcessingError(.backendFault, "libvips returned nothing") }
        return value
    }

    /// A tall image decoded while it streams, reduced on several threads:
    /// a thread that stalls on an early strip while another runs ahead must
    /// still find its input rows (libvips keeps a line cache after its own
    /// vertical reduction for this; without one the decoder refuses the
    /// out-of-order read). Many tries, since it takes a stall to show
    /// (without the cache the first try failed in each of 5 runs).
    @Test func aStreamedTallImageReducedOnManyThreadsIsReadInOrder() async throws {
        let mismatches = try await offThePool { try Self.tallImageReducedOnManyThreads() }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// The attempts whose pixels were not libvips'.
    static func tallImageReducedOnManyThreads() throws -> [String] {
        var mismatches: [String] = []
        let tall = try Self.image(width: 7, height: 6000, bands: 4, seed: 9)
        var png: UnsafeMutableRawPointer?
        var length = 0
        guard cv_write_to_buffer(tall.pointer, ".png[compression=1]", &png, &length) == 0 else { return ["the PNG could not be written"] }
        let bytes = Array(UnsafeRawBufferPointer(start: try unwrap(png), count: length))
        g_free(png)
        try bytes.withUnsafeBytes { buffer in
            func streamed() throws -> VipsImageHandle {
                VipsImageHandle(owning: try unwrap(cv_image_new_from_buffer(buffer.baseAddress, buffer.count, "", VIPS_ACCESS_SEQUENTIAL)))
            }
            let expected = try Self.libvips(try streamed(), 1, 0.5).pixels()
            for attempt in 0..<20 {
                let reduced = try LibvipsResize.resize(try streamed(), horizontalScale: 1, verticalScale: 0.5)
                vips_image_set_int(reduced.pointer, "concurrency", 4)
                if try reduced.pixels() != expected { mismatches.append("attempt \(attempt)") }
            }
        }
        return mismatches
    }

    /// What the port does not take is left to vips_resize: enlarging, 16-bit
    /// images, more than four bands.
    @Test func enlargingWideAndDeepImagesGoToLibvips() throws {
        let rgb = try Self.image(width: 40, height: 30, bands: 3)
        #expect(!LibvipsResize.portApplies(to: rgb, horizontalScale: 1.5, verticalScale: 0.5))
        #expect(LibvipsResize.portApplies(to: rgb, horizontalScale: 0.5, verticalScale: 1))
        let deep = try rgb.apply("cast") { cv_cast($0, $1, VIPS_FORMAT_USHORT) }
        #expect(!LibvipsResize.portApplies(to: deep, horizontalScale: 0.5, verticalScale: 0.5))
        #expect(try LibvipsResize.resize(deep, horizontalScale: 0.5, verticalScale: 0.5).pixels() == Self.libvips(deep, 0.5, 0.5).pixels())
        let enlarged = try LibvipsResize.resize(rgb, horizontalScale: 1.5, verticalScale: 0.5)
        #expect(try enlarged.pixels() == Self.libvips(rgb, 1.5, 0.5).pixels())
        #expect(enlarged.width == 60 && enlarged.height == 15)
    }
}
