import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

/// imgproxy's canvas operations as the vocabulary's: extend (to a size or
/// an aspect ratio, by gravity), padding, flatten and trim; and resizes by
/// a scale or to least sizes.
@Suite("libvips backend: extend, padding, flatten, trim, scale")
struct CanvasOperationsTests {
    func run(_ bytes: [UInt8], _ shorthand: String) async throws -> Decoded {
        try Decoded(try await libvips.process(ImageInput(bytes: bytes), recipe: try recipe(shorthand + "&format=png")).bytes)
    }

    @Test func extendPlacesTheImageOnALargerCanvasByGravity() async throws {
        let image = try await run(
            try GravityTests.quarters(),
            "extend_width=300&extend_height=150&extend_gravity=north_west&extend_background=00ff00"
        )
        #expect((image.width, image.height) == (300, 150))
        #expect(Array(image.pixel(10, 10).prefix(3)) == GravityTests.red)
        #expect(image.pixel(250, 120) == [0, 255, 0], "the canvas, opaque: no alpha added")
        // South east, 10 px in from the right edge.
        let moved = try await run(try GravityTests.quarters(), "extend_width=300&extend_gravity=south_east&extend_offset_x=10")
        #expect((moved.width, moved.height) == (300, 100) && moved.bands == 4)
        #expect(Array(moved.pixel(95, 10).prefix(3)) == GravityTests.red && moved.pixel(85, 10)[3] == 0, "transparent canvas left of x 90")
    }

    @Test func extendToAnAspectRatioAndNeverCrops() async throws {
        let square = try await run(try GravityTests.quarters(), "extend_width=1&extend_height=1&extend_mode=aspect&extend_background=0000ff")
        #expect((square.width, square.height) == (200, 200))
        #expect(square.pixel(100, 10) == [0, 0, 255] && Array(square.pixel(10, 60).prefix(3)) == GravityTests.red)
        let smaller = try await run(try GravityTests.quarters(), "extend_width=50&extend_height=50")
        #expect((smaller.width, smaller.height) == (200, 100), "a smaller canvas is the image's own")
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "extend_width=16&extend_mode=aspect") }
    }

    @Test func paddingAddsEachSide() async throws {
        let padded = try await run(try GravityTests.quarters(), "padding_top=10&padding_right=20&padding_bottom=30&padding_left=40")
        #expect((padded.width, padded.height) == (260, 140))
        #expect(Array(padded.pixel(45, 15).prefix(3)) == GravityTests.red && padded.pixel(5, 5)[3] == 0)
        let coloured = try await run(try GravityTests.quarters(), "padding_top=4&padding_background=ffffff")
        #expect((coloured.width, coloured.height) == (200, 104) && coloured.pixel(50, 1) == [255, 255, 255])
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "padding_top=0") }
    }

    @Test func flattenDropsAlphaOntoTheColour() async throws {
        let flat = try await run(try Fixture.alphaPNG.bytes, "flatten=ff0000")
        #expect(flat.bands == 3)
        // The alpha ramp runs left to right from 0: the left edge is the colour.
        #expect(near(flat.pixel(0, 50), [255, 0, 0], tolerance: 4), "\(flat.pixel(0, 50))")
        let opaque = try await run(try GravityTests.quarters(), "flatten=ff0000")
        #expect(opaque.bands == 3 && Array(opaque.pixel(10, 10)) == GravityTests.red)
    }

    /// A border of one colour is found and cut; `equal_horizontal` cuts the
    /// lesser of left and right from both.
    @Test func trimCutsABorderOfOneColour() async throws {
        let bordered = Array(
            try await libvips.process(
                ImageInput(bytes: try GravityTests.quarters()),
                recipe: try recipe("padding_top=5&padding_right=30&padding_bottom=15&padding_left=10&padding_background=ffffff&format=png")
            ).bytes
        )
        let trimmed = try await run(bordered, "trim=10")
        #expect((trimmed.width, trimmed.height) == (200, 100))
        #expect(Array(trimmed.pixel(1, 1).prefix(3)) == GravityTests.red)
        let even = try await run(bordered, "trim=10&trim_equal_horizontal=true&trim_equal_vertical=true")
        #expect((even.width, even.height) == (220, 110), "10 cut from left and right, 5 from top and bottom")
        let named = try await run(bordered, "trim=10&trim_colour=ff0000")
        #expect((named.width, named.height) == (240, 120), "no red border: nothing cut")
        // Under 3x3 (libvips' median window), nothing to cut: found by schemathesis as a 500.
        for (width, height) in [(1, 1), (2, 5), (5, 2)] {
            let tiny = try await run(try randomPNG(width: width, height: height), "trim=22")
            #expect((tiny.width, tiny.height) == (width, height))
        }
    }

    @Test func aScaleAndLeastSizes() async throws {
        let half = try await run(try GravityTests.quarters(), "scale=0.5")
        #expect((half.width, half.height) == (100, 50))
        // The photo (320x240, JPEG): the decoder's shrink, then the rest.
        let quarter = try await run(try Fixture.photoJPEG.bytes, "scale=0.25")
        #expect((quarter.width, quarter.height) == (80, 60))
        let up = try await run(try Fixture.photoJPEG.bytes, "width=40&min_width=100")
        #expect((up.width, up.height) == (100, 75), "enlarged to the least width, enlarge or not")
        let noUp = try await run(try GravityTests.quarters(), "scale=2")
        #expect((noUp.width, noUp.height) == (200, 100), "a scale enlarges only with enlarge")
        // Shown 100x200 (EXIF 6): the least height is the shown height.
        let sideways = try await run(try GravityTests.quarters(orientation: 6), "width=50&min_height=300&fast_shrink=false")
        #expect((sideways.width, sideways.height) == (150, 300))
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "width=10&scale=0.5") }
    }
}
