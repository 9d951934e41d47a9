import BackendTestSupport
import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

/// `cover` and `crop` placed by imgproxy's gravity: compass points with
/// offsets and focus points, on an image of four coloured quarters (top
/// left red, top right green, bottom left blue, bottom right yellow).
@Suite("libvips backend: gravity")
struct GravityTests {
    static let red: [UInt8] = [220, 20, 20]
    static let green: [UInt8] = [20, 200, 20]
    static let blue: [UInt8] = [20, 20, 220]
    static let yellow: [UInt8] = [230, 220, 20]

    /// The quarters, `width` x `height`, as a PNG, or as a JPEG stored
    /// sideways with EXIF `orientation`.
    static func quarters(width: Int = 200, height: Int = 100, orientation: Int? = nil) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let colour = y < height / 2 ? (x < width / 2 ? red : green) : (x < width / 2 ? blue : yellow)
                pixels.replaceSubrange((y * width + x) * 3..<(y * width + x) * 3 + 3, with: colour)
            }
        }
        _ = try LibvipsRuntime.shared()
        let image = try #require(
            pixels.withUnsafeBytes { vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), 3, VIPS_FORMAT_UCHAR) }
        )
        defer { g_object_unref(image) }
        image.pointee.Type = VIPS_INTERPRETATION_sRGB
        if let orientation { vips_image_set_int(image, "orientation", Int32(orientation)) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        try #require(cv_write_to_buffer(image, orientation == nil ? ".png" : ".jpg[Q=95]", &buffer, &length) == 0)
        let bytes = try #require(buffer)
        defer { g_free(bytes) }
        return Array(UnsafeRawBufferPointer(start: bytes, count: length))
    }

    func run(_ bytes: [UInt8], _ shorthand: String) async throws -> Decoded {
        try Decoded(try await libvips.process(ImageInput(bytes: bytes), recipe: try recipe(shorthand + "&format=png")).bytes)
    }

    func colours(_ image: Decoded, at points: [(Int, Int)]) -> [[UInt8]] {
        points.map { Array(image.pixel($0.0, $0.1).prefix(3)) }
    }

    /// 200x100 to a 50x50 cover: scaled to 100x50, the box cut at the
    /// named edge.
    @Test(arguments: [
        ("west", [red, blue]), ("east", [green, yellow]), ("north_west", [red, blue]), ("south_east", [green, yellow]),
    ])
    func coverKeepsTheNamedEdge(_ gravity: String, _ expected: [[UInt8]]) async throws {
        let image = try await run(try Self.quarters(), "width=50&height=50&fit=cover&gravity=\(gravity)")
        #expect((image.width, image.height) == (50, 50))
        #expect(colours(image, at: [(25, 10), (25, 40)]) == expected)
    }

    /// An offset moves the box inward from the edge; a focus point centres it.
    @Test func offsetsAndFocusPointsMoveTheBox() async throws {
        // From the east edge 25 px in: the box spans x 25...75 of the 100 scaled, across the middle.
        let moved = try await run(try Self.quarters(), "width=50&height=50&fit=cover&gravity=east&offset_x=25")
        #expect(colours(moved, at: [(10, 10), (40, 10)]) == [Self.red, Self.green])
        // A fraction: a quarter of the scaled width.
        let fraction = try await run(try Self.quarters(), "width=50&height=50&fit=cover&gravity=east&offset_x=0.25")
        #expect(colours(fraction, at: [(10, 10), (40, 10)]) == [Self.red, Self.green])
        let focused = try await run(try Self.quarters(), "width=50&height=50&fit=cover&gravity=focus&focus_x=0.9&focus_y=0.5")
        #expect(colours(focused, at: [(25, 10), (25, 40)]) == [Self.green, Self.yellow])
    }

    /// A resize after another operation cuts the same way.
    @Test func aLaterResizeIsPlacedAlike() async throws {
        let json =
            #"{"ops":[{"op":"flip","direction":"vertical"},{"op":"resize","width":50,"height":50,"fit":"cover","gravity":"north_east"}],"format":"png"}"#
        let recipe = try Recipe(json: Data(json.utf8))
        let image = try Decoded(try await libvips.process(ImageInput(bytes: try Self.quarters()), recipe: recipe).bytes)
        #expect(colours(image, at: [(25, 10), (25, 40)]) == [Self.yellow, Self.green])
    }

    /// The edge is the shown image's: a photo stored sideways (EXIF 6,
    /// turned 90 clockwise to view) is cut at the top people see.
    @Test func theEdgeIsTheOneShown() async throws {
        // Shown: 100x200, top left blue, top right red, bottom left yellow, bottom right green.
        let sideways = try Self.quarters(orientation: 6)
        for fastShrink in [true, false] {
            let top = try await run(sideways, "width=50&height=50&fit=cover&gravity=north&fast_shrink=\(fastShrink)")
            #expect(zip(colours(top, at: [(10, 10), (40, 10)]), [Self.blue, Self.red]).allSatisfy { near($0, $1, tolerance: 30) })
            let bottom = try await run(sideways, "width=50&height=50&fit=cover&gravity=south&fast_shrink=\(fastShrink)")
            #expect(zip(colours(bottom, at: [(10, 40), (40, 40)]), [Self.yellow, Self.green]).allSatisfy { near($0, $1, tolerance: 30) })
        }
    }

    @Test func aCropIsPlacedByItsGravity() async throws {
        let corner = try await run(try Self.quarters(), "crop_width=40&crop_height=20&crop_gravity=south_east&crop_offset_x=10&crop_offset_y=5")
        #expect((corner.width, corner.height) == (40, 20))
        #expect(colours(corner, at: [(5, 5), (35, 15)]) == [Self.yellow, Self.yellow])
        let focused = try await run(try Self.quarters(), "crop_width=40&crop_height=20&crop_gravity=focus&crop_focus_x=0.1&crop_focus_y=0.1")
        #expect(colours(focused, at: [(5, 5)]) == [Self.red])
    }
}
