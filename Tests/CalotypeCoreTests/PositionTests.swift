import CalotypeCore
import Testing

/// Where a rectangle sits in a larger one: the arithmetic of imgproxy's
/// gravity (compass points with inward offsets, pixels or fractions, and
/// focus points), shared by `cover`, `crop` and every backend.
@Suite("Position: gravity arithmetic")
struct PositionTests {
    func origin(_ position: Position, inner: (Int, Int) = (20, 10), outer: (Int, Int) = (100, 50)) -> [Int] {
        let origin = position.origin(innerWidth: inner.0, innerHeight: inner.1, outerWidth: outer.0, outerHeight: outer.1)
        return [origin.x, origin.y]
    }

    func compass(_ point: CompassPoint, _ x: Double = 0, _ y: Double = 0) -> Position {
        Position(.compass(point, offsetX: x, offsetY: y))
    }

    @Test func compassPointsPutTheRectangleAgainstTheirEdges() {
        // 100x50 outer, 20x10 inner: 80 and 40 to spare.
        #expect(origin(compass(.centre)) == [40, 20])
        #expect(origin(compass(.north)) == [40, 0])
        #expect(origin(compass(.south)) == [40, 40])
        #expect(origin(compass(.east)) == [80, 20])
        #expect(origin(compass(.west)) == [0, 20])
        #expect(origin(compass(.northEast)) == [80, 0])
        #expect(origin(compass(.northWest)) == [0, 0])
        #expect(origin(compass(.southEast)) == [80, 40])
        #expect(origin(compass(.southWest)) == [0, 40])
    }

    /// Offsets point inward from the named edges; along an axis the point
    /// does not name, a positive offset moves right or down.
    @Test func offsetsMoveInwardFromTheNamedEdges() {
        #expect(origin(compass(.southEast, 5, 3)) == [75, 37])
        #expect(origin(compass(.northWest, 5, 3)) == [5, 3])
        #expect(origin(compass(.north, 5, 3)) == [45, 3])
        #expect(origin(compass(.east, 5, 3)) == [75, 23])
        #expect(origin(compass(.centre, -5, 3)) == [35, 23])
    }

    /// Under 1 (either sign), an offset is a fraction of the outer side.
    @Test func smallOffsetsAreFractions() {
        #expect(origin(compass(.northWest, 0.25, 0.5)) == [25, 25])
        #expect(origin(compass(.southEast, 0.1, 0.2)) == [70, 30])
        #expect(origin(compass(.centre, -0.1, 0)) == [30, 20])
    }

    /// The rectangle stays inside; one larger than the outer is centred.
    @Test func theRectangleStaysInside() {
        #expect(origin(compass(.northWest, 500, -500)) == [80, 0])
        #expect(origin(compass(.southEast, 1000, 1000)) == [0, 0])
        #expect(origin(compass(.north), inner: (120, 10)) == [-10, 0])
        // Offsets beyond the declared range are clamped before they are converted.
        #expect(origin(compass(.west, .infinity, -.infinity)) == [80, 0])
        #expect(origin(compass(.west, .nan, 1e300)) == [0, 40])
    }

    @Test func aFocusPointCentresTheRectangleOnIt() {
        #expect(origin(Position(.focus(x: 0.5, y: 0.5))) == [40, 20])
        #expect(origin(Position(.focus(x: 0.3, y: 0.6))) == [20, 25])
        #expect(origin(Position(.focus(x: 0, y: 1))) == [0, 40])
    }

    /// Numbers that would be ignored are refused, as everywhere in recipes.
    @Test func offsetsAndFocusPointsOnlyWhereTheyApply() throws {
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "width=10&height=10&fit=cover&gravity=attention&offset_x=3") }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "width=10&height=10&fit=cover&gravity=north&focus_x=0.2") }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "crop_width=10&crop_height=10&crop_gravity=south&crop_x=3") }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "crop_width=10&crop_height=10&crop_offset_x=3") }
        #expect(throws: RecipeError.self) { try Recipe(shorthand: "crop_width=10&crop_height=10&crop_gravity=focus&crop_focus_x=1.5") }
        let crop = try Recipe(shorthand: "crop_width=30&crop_height=20&crop_gravity=south_east&crop_offset_x=4")
        guard case .crop(let rectangle) = crop.operations.first else {
            Issue.record("no crop in \(crop)")
            return
        }
        #expect(rectangle.clamped(toWidth: 100, height: 50).map { [$0.x, $0.y, $0.width, $0.height] } == [66, 30, 30, 20])
        #expect(rectangle.clamped(toWidth: 20, height: 10).map { [$0.x, $0.y, $0.width, $0.height] } == [0, 0, 20, 10])
    }
}
