/// Cuts a rectangle out of the image, in the pixels of the image as it is at
/// this step of the pipeline.
///
/// A rectangle that runs past the edge is clamped to the image; one that
/// misses the image entirely is an error (`crop_outside_image`), since there is
/// nothing sensible to return.
public struct Crop: PipelineOperation, PlacedByGravity {
    /// Where the rectangle is.
    public enum Gravity: String, SpelledWithCentre {
        /// At `x`, `y` (`none`: no gravity).
        case atOffset = "none"
        /// In the middle of the image as it is at this step (imgproxy's
        /// `c:width:height`), its size clamped to the image; `x` and `y`
        /// are not given.
        case centre
        /// Against an edge or in a corner (imgproxy's `c:w:h:no`, ...),
        /// moved by `offset_x`, `offset_y`.
        case north, south, east, west
        case northEast = "north_east"
        case northWest = "north_west"
        case southEast = "south_east"
        case southWest = "south_west"
        /// Centred on `focus_x`, `focus_y` as far as it stays inside (`fp`).
        case focus
    }

    public static let kind = OperationKind.crop
    public static let summary = "Cut out a rectangle (clamped to the image; an error when it misses the image)."

    public static let xParameter = Parameter<Int>(
        "x",
        shorthandKey: "crop_x",
        summary: "Left edge in pixels.",
        default: 0,
        range: 0...16383
    )
    public static let yParameter = Parameter<Int>(
        "y",
        shorthandKey: "crop_y",
        summary: "Top edge in pixels.",
        default: 0,
        range: 0...16383
    )
    public static let widthParameter = Parameter<Int>(
        "width",
        shorthandKey: "crop_width",
        summary: "Width in pixels.",
        range: 1...16384
    )
    public static let heightParameter = Parameter<Int>(
        "height",
        shorthandKey: "crop_height",
        summary: "Height in pixels.",
        range: 1...16384
    )

    public static let gravityParameter = Parameter<Gravity>(
        "gravity",
        shorthandKey: "crop_gravity",
        summary:
            "`none`: at x, y; `centre` (or `center`), an edge (`north`, ...) or a corner (`north_east`, ...): there, moved by the offsets; `focus`: centred on the focus point.",
        default: .atOffset
    )
    public static let offsetXParameter = Position.offsetParameter(.x, shorthandKey: "crop_offset_x", of: "the image")
    public static let offsetYParameter = Position.offsetParameter(.y, shorthandKey: "crop_offset_y", of: "the image")
    public static let focusXParameter = Position.focusParameter(.x, shorthandKey: "crop_focus_x")
    public static let focusYParameter = Position.focusParameter(.y, shorthandKey: "crop_focus_y")

    public static let bound = [
        xParameter.bound(to: \Self.x),
        yParameter.bound(to: \Self.y),
        widthParameter.bound(to: \Self.width),
        heightParameter.bound(to: \Self.height),
        gravityParameter.bound(to: \Self.gravity),
        offsetXParameter.bound(to: \Self.offsetX),
        offsetYParameter.bound(to: \Self.offsetY),
        focusXParameter.bound(to: \Self.focusX),
        focusYParameter.bound(to: \Self.focusY),
    ]

    public var x = 0
    public var y = 0
    public var width = 1
    public var height = 1
    public var gravity = Gravity.atOffset
    public var offsetX = 0.0
    public var offsetY = 0.0
    public var focusX = 0.5
    public var focusY = 0.5

    public init(x: Int = 0, y: Int = 0, width: Int, height: Int, gravity: Gravity = .atOffset) throws(RecipeError) {
        (self.x, self.y, self.width, self.height, self.gravity) = (x, y, width, height, gravity)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    /// A placed rectangle has no corner of its own: `x` and `y` with a
    /// gravity would be ignored, and so would offsets without a compass
    /// gravity or a focus point without `focus`: each is refused.
    public func checkCombination() throws(RecipeError) {
        if gravity != .atOffset && (x != 0 || y != 0) {
            throw RecipeError(
                field: x != 0 ? Self.xParameter.key : Self.yParameter.key,
                reason: .malformed("not given with gravity \(gravity.rawValue), which places the rectangle itself")
            )
        }
        try gravityNumbers.check(compass: gravity.compassPoint, focused: gravity == .focus, gravity: gravity.rawValue)
    }

    /// Where a placed rectangle goes; nil at `x`, `y`.
    public var position: Position? { gravityNumbers.position(compass: gravity.compassPoint, focused: gravity == .focus) }

    public var asOperation: Operation { .crop(self) }

    /// The rectangle clamped to an image of `imageWidth` x `imageHeight` (or
    /// centred in it), or `nil` when it lies wholly outside. Every backend
    /// crops to this.
    public func clamped(toWidth imageWidth: Int, height imageHeight: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        if let position {
            guard imageWidth > 0, imageHeight > 0 else { return nil }
            let (width, height) = (min(width, imageWidth), min(height, imageHeight))
            let origin = position.origin(innerWidth: width, innerHeight: height, outerWidth: imageWidth, outerHeight: imageHeight)
            return (origin.x, origin.y, width, height)
        }
        guard x < imageWidth, y < imageHeight else { return nil }
        return (x, y, min(width, imageWidth - x), min(height, imageHeight - y))
    }
}
