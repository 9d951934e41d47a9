import Foundation
import Testing

@testable import CalotypeCore

/// Numbers from outside (headers, queries, recipes) at their extremes: each
/// is read, bounded or refused with a typed error, never turned into a trap.
@Suite("Extreme values from outside")
struct ExtremeValueTests {
    static let extremes = [
        "0", "-1", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
        "99999999999999999999999", "1e308", "-1e308", "inf", "-inf", "nan", "0x10", "",
    ]

    /// Every shorthand key the recipe reads, each at every extreme.
    static let keys = [
        "width", "height", "quality", "blur", "sharpen", "rotate", "crop_x", "crop_y", "crop_width", "crop_height",
        "brightness", "contrast", "gamma",
    ]

    @Test func everyRecipeNumberAtEveryExtremeIsTakenInRangeOrRefusedByName() {
        for key in Self.keys {
            for value in Self.extremes {
                do {
                    let recipe = try Recipe(shorthand: "\(key)=\(value)" + (key.hasPrefix("crop_") ? "" : "&width=10"))
                    #expect((1...100).contains(recipe.output.quality))
                } catch {
                    #expect(error.description.contains(key) || error.description.contains("crop"), "\(key)=\(value): \(error)")
                }
                do {
                    let json = #"{"ops":[{"op":"resize","width":\#(value.isEmpty ? "null" : value)}],"quality":\#(value.isEmpty ? "null" : value)}"#
                    _ = try Recipe(json: Data(json.utf8))
                } catch {
                    // Refused: a typed RecipeError, which is all this asks.
                }
            }
        }
    }

    @Test func jsonNumbersBeyondEveryIntegerAreRefused() {
        for number in ["9223372036854775808", "1e19", "-9223372036854775809", "1.7976931348623157e308"] {
            #expect(throws: RecipeError.self, "\(number)") {
                try Recipe(json: Data(#"{"ops":[{"op":"resize","width":\#(number)}]}"#.utf8))
            }
        }
    }

    @Test func headerSizesAreReadWhateverTheyDeclare() {
        #expect(ImageSize.sniff(png(width: .max, height: .max)) == ImageSize(width: Int(UInt32.max), height: Int(UInt32.max)))
        #expect(ImageSize.sniff(png(width: 0, height: 100)) == nil)
        #expect(ImageSize.sniff(png(width: 1 << 31, height: 1 << 30))?.megapixels == Double(1 << 31) * Double(1 << 30) / 1e6)
        #expect(ImageSize.sniff([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xFF, 0xFF, 0xFF, 0xFF]) == ImageSize(width: 65535, height: 65535))
        // A JPEG marker whose length field is 0 or 1 ends the walk.
        #expect(ImageSize.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00]) == nil)
        #expect(ImageSize.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xC0]) == nil)
        // Every prefix of a header: nothing read past the end.
        let header = png(width: 640, height: 480)
        for length in 0..<header.count { _ = ImageSize.sniff(Array(header.prefix(length))) }
    }

    @Test func aDeclaredSizeOverTheLimitIsRefusedEvenWhenItsProductOverflows() {
        let limits = ImageLimits(maxPixels: 50_000_000)
        for (width, height) in [(Int(UInt32.max), Int(UInt32.max)), (Int.max, 2), (1 << 31, 1 << 30), (50_000_001, 1)] {
            #expect(throws: ProcessingError.self) { try limits.checkDeclared(width: width, height: height, label: "x") }
        }
        #expect(throws: Never.self) { try limits.checkDeclared(width: 10_000, height: 5_000, label: "x") }
    }

    @Test func jpegScanCountsStopAtEveryTruncation() {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 0xFF, 0xDA, 0xFF, 0xFF, 0xFF, 0xD9]
        for length in 0...jpeg.count {
            let count = Array(jpeg.prefix(length)).withUnsafeBytes { JPEGScans.count($0, stoppingAfter: 128) }
            #expect(count >= 0 && count <= 129)
        }
    }

    private func png(width: UInt32, height: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]
        for value in [width, height] {
            bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return bytes + [8, 2, 0, 0, 0]
    }
}
