import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

@Suite("libvips backend: every operation on real images")
struct LibvipsBackendTests {
    func run(_ fixture: Fixture, _ shorthand: String) async throws -> (ProcessedImage, Decoded) {
        let result = try await libvips.process(try fixture.input, recipe: try recipe(shorthand))
        return (result, try Decoded(result.bytes))
    }

    // MARK: Identity and formats

    @Test func describesItself() throws {
        let backend = try libvips
        #expect(backend.name == "libvips" && backend.kind == .cpu)
        #expect(backend.supportedOperations == Set(OperationKind.allCases))
        #expect(backend.supports(try recipe("width=10&blur=1&grayscale=true")).isSupported)
        #expect(backend.writableFormats.isSuperset(of: [.jpeg, .png, .webp]))
    }

    @Test(arguments: [
        (Fixture.photoJPEG, SourceFormat.jpeg), (.photoWebP, .webp), (.alphaPNG, .png), (.photoGIF, .gif), (.photoTIFF, .tiff),
    ])
    func readsEachAllowedFormat(_ fixture: Fixture, _ format: SourceFormat) async throws {
        let (result, decoded) = try await run(fixture, "width=64&format=png")
        #expect(result.sourceFormat == format)
        #expect(decoded.format == .png && decoded.width == 64)
    }

    /// Debian's libvips 8.14 writes all six (AVIF through libheif's AV1
    /// encoder, GIF through cgif, JPEG XL through libjxl), and the tests run
    /// there: a build that lost one fails here rather than quietly serving 415.
    @Test func writesEveryFormatOnThisMachine() throws {
        #expect(try libvips.writableFormats == Set(OutputFormat.encoded))
    }

    @Test(arguments: OutputFormat.encoded)
    func writesEachFormat(_ format: OutputFormat) async throws {
        let result = try await libvips.process(try Fixture.photoJPEG.input, recipe: try recipe("width=100&format=\(format.rawValue)"))
        #expect(result.format == format)
        let decoded =
            format == .jxl
            ? try Decoded(outsideTheProcess: Array(result.bytes), fileExtension: "jxl")
            : try Decoded(result.bytes)
        let expected: [OutputFormat: SourceFormat] = [.jpeg: .jpeg, .png: .png, .webp: .webp, .avif: .avif, .gif: .gif, .jxl: .png]
        #expect(decoded.format == expected[format])
        #expect((decoded.width, decoded.height) == (100, 75))
        #expect((result.width, result.height) == (100, 75))
        // The picture survived the encoder: the centre pixel is near the PNG's.
        let reference = try await run(.photoJPEG, "width=100&format=png").1
        let (a, b) = (decoded.pixel(50, 37), reference.pixel(50, 37))
        #expect(zip(a, b).allSatisfy { abs(Int($0) - Int($1)) <= 40 }, "\(format): \(a) against \(b)")
    }

    /// A format this build cannot write is refused before decoding (415),
    /// and `original` falls back where the source's own is not writable.
    @Test func anUnwritableFormatIsRefusedAndOriginalFallsBack() throws {
        let options = try OutputOptions(format: .original)
        #expect(options.resolvedFormat(for: .gif, writable: [.jpeg, .png]) == .png)
        #expect(options.resolvedFormat(for: .gif, writable: Set(OutputFormat.encoded)) == .gif)
        #expect(options.resolvedFormat(for: .avif, writable: [.jpeg, .png]) == .png)
        #expect(try OutputOptions(format: .avif).resolvedFormat(for: .jpeg, writable: [.jpeg]) == .avif)
        let refusal = #expect(throws: ProcessingError.self) {
            try Fixture.photoJPEG.bytes.withUnsafeBytes { buffer in
                _ = try LibvipsSource.open(buffer, name: nil, limits: ImageLimits(), recipe: try recipe("format=avif"), writableFormats: [.jpeg])
            }
        }
        #expect(refusal?.code == .unsupportedFormat)
    }

    @Test func originalKeepsTheInputFormat() async throws {
        #expect(try await run(.photoWebP, "width=50").0.format == .webp)
        #expect(try await run(.alphaPNG, "width=50").0.format == .png)
        #expect(try await run(.photoGIF, "width=50").0.format == .gif, "a GIF stays a GIF")
    }

    @Test func qualityChangesTheEncoding() async throws {
        let low = try await run(.photoJPEG, "format=jpeg&quality=10").0.bytes.count
        let high = try await run(.photoJPEG, "format=jpeg&quality=95").0.bytes.count
        #expect(low * 2 < high)
    }

    @Test func stripDropsMetadataUnlessAskedToKeepIt() async throws {
        #expect(try await run(.exifRotatedJPEG, "format=jpeg").1.hasEXIF == false)
        let kept = try await run(.exifRotatedJPEG, "format=jpeg&strip=false").1
        #expect(kept.hasEXIF)
        #expect(kept.orientation == 1, "the orientation was applied, so the tag must not apply it again")
    }

    @Test func reportsWhereTheTimeWent() async throws {
        let result = try await run(.photoJPEG, "width=100").0
        #expect(result.timings.total > .zero)
        #expect(result.timings.encode > .zero)
        #expect(result.backend == "libvips")
    }

    // MARK: Colour

    @Test func alphaIsKeptInPNGAndFlattenedOntoWhiteInJPEG() async throws {
        let png = try await run(.alphaPNG, "format=png").1
        #expect(png.bands == 4)
        #expect(png.pixel(0, 0)[3] == 0 && png.pixel(127, 0)[3] == 255)
        let jpeg = try await run(.alphaPNG, "format=jpeg&quality=100").1
        #expect(jpeg.bands == 3)
        #expect(jpeg.pixel(0, 50).allSatisfy { $0 > 245 }, "fully transparent pixels become white")
    }

    @Test func cmykBecomesSRGB() async throws {
        let (_, decoded) = try await run(.cmykJPEG, "format=png")
        #expect(decoded.bands == 3)
        let reference = try await run(.photoTIFF, "format=png").1  // the same picture, never CMYK
        #expect(psnr(decoded.pixels, reference.pixels) > 20, "colours survive the round trip through CMYK")
    }

    @Test func sixteenBitBecomesEightBit() async throws {
        let (_, decoded) = try await run(.deepPNG, "format=png")
        #expect(decoded.bands == 3 && decoded.pixels.count == 128 * 96 * 3)
        let reference = try await run(.photoTIFF, "format=png").1  // the same 8-bit picture, lossless
        #expect(decoded.pixels == reference.pixels)
    }

    // MARK: Orientation

    @Test func exifOrientationIsAppliedFirst() async throws {
        let upright = try await run(.photoJPEG, "format=png").1
        let turned = try await run(.exifRotatedJPEG, "format=png").1
        #expect((turned.width, turned.height) == (320, 240))
        #expect(psnr(upright.pixels, turned.pixels) > 30)
    }

    @Test func autorotateFalseKeepsTheStoredOrientation() async throws {
        let stored = try await run(.exifRotatedJPEG, "format=png&autorotate=false").1
        #expect((stored.width, stored.height) == (240, 320))
    }

    @Test(arguments: [true, false])
    func shrinkOnLoadHonoursOrientation(fastShrink: Bool) async throws {
        let turned = try await run(.exifRotatedJPEG, "width=100&fast_shrink=\(fastShrink)&format=png").1
        #expect((turned.width, turned.height) == (100, 75))
        let upright = try await run(.photoJPEG, "width=100&fast_shrink=\(fastShrink)&format=png").1
        #expect(psnr(upright.pixels, turned.pixels) > 25)
    }

    // MARK: Resize

    @Test(arguments: [
        ("width=100", 100, 75), ("height=60", 80, 60), ("width=100&height=100", 100, 75),
        ("width=100&height=100&fit=cover", 100, 100), ("width=100&height=30&fit=fill", 100, 30),
        ("width=100&height=100&fit=contain", 100, 100), ("width=1000", 320, 240), ("width=640&enlarge=true", 640, 480),
        ("width=1000&height=1000&fit=cover", 320, 240), ("width=100&height=100&fit=cover&gravity=attention", 100, 100),
        ("width=100&height=100&fit=cover&gravity=entropy", 100, 100), ("width=500&height=100&fit=fill", 320, 100),
        ("width=40&height=40&fit=cover&fast_shrink=false", 40, 40), ("width=40&height=40&fit=fill&fast_shrink=false", 40, 40),
    ])
    func resizesToTheBoxAsked(_ shorthand: String, _ width: Int, _ height: Int) async throws {
        let (result, decoded) = try await run(.photoJPEG, shorthand + "&format=png")
        #expect((decoded.width, decoded.height) == (width, height))
        #expect((result.width, result.height) == (width, height))
    }

    @Test func containPadsWithTheBackground() async throws {
        let decoded = try await run(.photoJPEG, "width=100&height=100&fit=contain&background=%23ff0000&format=png").1
        #expect(decoded.pixel(50, 0) == [255, 0, 0])
        #expect(decoded.pixel(50, 99) == [255, 0, 0])
        #expect(decoded.pixel(50, 50) != [255, 0, 0])
        let transparent = try await run(.photoJPEG, "width=100&height=100&fit=contain&background=%2300000000&format=png").1
        #expect(transparent.bands == 4 && transparent.pixel(50, 0)[3] == 0 && transparent.pixel(50, 50)[3] == 255)
    }

    @Test(arguments: [Fixture.photoJPEG, .photoWebP, .alphaPNG, .exifRotatedJPEG])
    func resizeMatchesVipsThumbnail(_ fixture: Fixture) async throws {
        let reference = try vipsThumbnailPixels(try fixture.bytes, width: 100, height: Int(10_000_000))
        let decoded = try await run(fixture, "width=100&fast_shrink=false&format=png").1
        #expect((decoded.width, decoded.height) == (reference.width, reference.height))
        #expect(psnr(decoded.pixels, reference.pixels) >= 40)
    }

    @Test func fastShrinkStaysCloseToVipsThumbnail() async throws {
        let reference = try vipsThumbnailPixels(try Fixture.photoJPEG.bytes, width: 60, height: Int(10_000_000))
        let fast = try await run(.photoJPEG, "width=60&fast_shrink=true&format=png").1
        #expect((fast.width, fast.height) == (reference.width, reference.height))
        let quality = psnr(fast.pixels, reference.pixels)
        #expect(quality > 28 && quality.isFinite, "fast shrink differs a little from the default path: \(quality) dB")
    }

    @Test func resizeLaterInThePipelineUsesTheSameArithmetic() async throws {
        let first = try await run(.photoJPEG, "width=100&fast_shrink=false&format=png").1
        let later = try await libvips.process(
            try Fixture.photoJPEG.input,
            recipe: Recipe([.adjust(try Adjust()), .resize(try Resize(width: 100, fastShrink: false))], output: try OutputOptions(format: .png))
        )
        let decoded = try Decoded(later.bytes)
        #expect((decoded.width, decoded.height) == (100, 75))
        #expect(psnr(first.pixels, decoded.pixels) > 35)
    }

    // MARK: Geometry

    @Test func cropCutsTheRectangle() async throws {
        let whole = try await run(.alphaPNG, "format=png").1
        let cut = try await run(.alphaPNG, "crop_x=10&crop_y=20&crop_width=30&crop_height=40&format=png").1
        #expect((cut.width, cut.height) == (30, 40))
        #expect(cut.pixel(0, 0) == whole.pixel(10, 20))
        #expect(cut.pixel(29, 39) == whole.pixel(39, 59))
    }

    /// Each 10 x 10 block from the top left corner is its mean, rounded; the
    /// blocks cut by the right edge (8 columns) average the image extended
    /// by copying its last column.
    @Test func pixelateMakesEachBlockItsMean() async throws {
        let whole = try await run(.alphaPNG, "format=png").1
        let blocks = try await run(.alphaPNG, "pixelate=10&format=png").1
        #expect((blocks.width, blocks.height) == (128, 96) && blocks.bands == whole.bands)
        for (left, top) in [(0, 0), (40, 30), (120, 90)] {
            var sums = [Int](repeating: 0, count: whole.bands)
            for y in top..<(top + 10) {
                for x in left..<(left + 10) {
                    for (band, value) in whole.pixel(min(x, 127), min(y, 95)).enumerated() { sums[band] += Int(value) }
                }
            }
            let means = sums.map { ($0 + 50) / 100 }
            for y in top..<min(top + 10, 96) {
                for x in left..<min(left + 10, 128) {
                    let pixel = blocks.pixel(x, y).map(Int.init)
                    #expect(zip(pixel, means).allSatisfy { abs($0 - $1) <= 1 }, "\(x),\(y): \(pixel) against \(means)")
                }
            }
        }
    }

    /// A block larger than the image is cut to it: the whole image is one
    /// block, its mean, at no more cost than the image's own pixels.
    @Test func aPixelateBlockLargerThanTheImageIsTheImagesMean() async throws {
        let whole = try await run(.alphaPNG, "format=png").1
        let one = try await run(.alphaPNG, "pixelate=16384&format=png").1
        #expect((one.width, one.height) == (128, 96))
        var sums = [Int](repeating: 0, count: whole.bands)
        for y in 0..<96 { for x in 0..<128 { for (band, value) in whole.pixel(x, y).enumerated() { sums[band] += Int(value) } } }
        let means = sums.map { ($0 + 128 * 96 / 2) / (128 * 96) }
        for (x, y) in [(0, 0), (127, 95), (64, 48)] {
            #expect(zip(one.pixel(x, y).map(Int.init), means).allSatisfy { abs($0 - $1) <= 1 }, "\(x),\(y): \(one.pixel(x, y)) against \(means)")
        }
    }

    /// First in the recipe, pixelate reads the decoder's stream (the
    /// bottom blocks read its last rows again).
    @Test func pixelateReadsAStreamedDecode() async throws {
        let (result, decoded) = try await run(.photoJPEG, "pixelate=16&format=png")
        #expect(result.format == .png && decoded.pixel(0, 0) == decoded.pixel(15, 15))
    }

    @Test func cropIsClampedToTheImage() async throws {
        let cut = try await run(.alphaPNG, "crop_x=100&crop_y=90&crop_width=300&crop_height=300&format=png").1
        #expect((cut.width, cut.height) == (28, 6))
    }

    @Test func cropOutsideTheImageIsAnInputError() async throws {
        let error = await #expect(throws: ProcessingError.self) {
            try await run(.alphaPNG, "crop_x=500&crop_y=0&crop_width=10&crop_height=10")
        }
        #expect(error?.code == .invalidForImage && error?.blame == .input)
        #expect(error?.message.contains("128x96") == true)
    }

    @Test(arguments: [90, 180, 270])
    func rotateTurnsClockwise(_ angle: Int) async throws {
        let source = try await run(.alphaPNG, "format=png").1
        let turned = try await run(.alphaPNG, "rotate=\(angle)&format=png").1
        let (w, h) = (source.width, source.height)
        switch angle {
        case 90:
            #expect((turned.width, turned.height) == (h, w))
            #expect(turned.pixel(0, 0) == source.pixel(0, h - 1))
            #expect(turned.pixel(h - 1, 0) == source.pixel(0, 0))
        case 180:
            #expect((turned.width, turned.height) == (w, h))
            #expect(turned.pixel(0, 0) == source.pixel(w - 1, h - 1))
        default:
            #expect((turned.width, turned.height) == (h, w))
            #expect(turned.pixel(0, 0) == source.pixel(w - 1, 0))
        }
    }

    @Test func flipMirrors() async throws {
        let source = try await run(.alphaPNG, "format=png").1
        let horizontal = try await run(.alphaPNG, "flip=horizontal&format=png").1
        let vertical = try await run(.alphaPNG, "flip=vertical&format=png").1
        #expect(horizontal.pixel(0, 5) == source.pixel(127, 5))
        #expect(vertical.pixel(5, 0) == source.pixel(5, 95))
    }

    @Test func rotateAfterAStreamedResizeWorks() async throws {
        let decoded = try await run(.photoJPEG, "width=100&rotate=90&flip=vertical&format=png").1
        #expect((decoded.width, decoded.height) == (75, 100))
    }

    // MARK: Filters

    @Test func blurRemovesDetail() async throws {
        let source = try await run(.photoGIF, "format=png").1
        let blurred = try await run(.photoGIF, "blur=2&format=png").1
        #expect(blurred.detail < source.detail / 3)
    }

    @Test func sharpenAddsDetailAndKeepsSRGB() async throws {
        let source = try await run(.photoTIFF, "blur=1&format=png").1
        let sharpened = try await libvips.process(
            try Fixture.photoTIFF.input,
            recipe: Recipe([.blur(try Blur(sigma: 1)), .sharpen(try Sharpen(sigma: 1))], output: try OutputOptions(format: .png))
        )
        let decoded = try Decoded(sharpened.bytes)
        #expect(decoded.bands == 3)
        #expect(decoded.detail > source.detail * 1.2)
    }

    @Test func grayscaleGivesOneBandAndKeepsAlpha() async throws {
        #expect(try await run(.photoJPEG, "grayscale=true&format=png").1.bands == 1)
        let withAlpha = try await run(.alphaPNG, "grayscale=true&format=png").1
        #expect(withAlpha.bands == 2 && withAlpha.pixel(0, 0)[1] == 0)
    }

    @Test func grayscaleUsesLibvipsWeights() async throws {
        // Pure green is 0.7 of luminance in libvips' B_W, far above Rec. 709's 0.7152 only in
        // rounding; pure blue (0.1) must come out darker than pure red (0.2).
        let colour = try await run(.alphaPNG, "format=png").1
        let grey = try await run(.alphaPNG, "grayscale=true&format=png").1
        let bright = colour.pixel(64, 48)
        #expect(grey.pixel(64, 48)[0] > 0 || bright.prefix(3).allSatisfy { $0 == 0 })
    }

    @Test func adjustAppliesTheTableToColourOnly() async throws {
        let source = try await run(.alphaPNG, "format=png").1
        let adjust = try Adjust(brightness: 0.2, contrast: 1.5, gamma: 1.2)
        let adjusted = try await libvips.process(
            try Fixture.alphaPNG.input,
            recipe: Recipe([.adjust(adjust)], output: try OutputOptions(format: .png))
        )
        let decoded = try Decoded(adjusted.bytes)
        let table = adjust.lookupTable
        for (x, y) in [(0, 0), (10, 10), (64, 48), (127, 95)] {
            let before = source.pixel(x, y)
            let after = decoded.pixel(x, y)
            #expect(Array(after.prefix(3)) == before.prefix(3).map { table[Int($0)] })
            #expect(after[3] == before[3])
        }
    }
}

@Suite("Synthetic images")
struct SyntheticImageTests {
    @Test func arePhotoLikeAndRepeatable() async throws {
        let first = try SyntheticImage.jpeg(width: 200, height: 100, seed: 7)
        #expect(first == (try SyntheticImage.jpeg(width: 200, height: 100, seed: 7)))
        #expect(first != (try SyntheticImage.jpeg(width: 200, height: 100, seed: 8)))
        let decoded = try Decoded(first)
        #expect((decoded.width, decoded.height, decoded.format) == (200, 100, .jpeg))
        #expect(decoded.detail > 50, "not flat colour")
    }
}
