/// Lays the server's watermark image (`CALOTYPE_WATERMARK_PATH`) over the
/// image (imgproxy's `watermark`): at a compass point moved by offsets, or
/// repeated over the whole image; at an opacity; at its own size or scaled
/// to a share of the image.
public struct Watermark: PipelineOperation {
    /// Where the watermark goes.
    public enum Place: String, SpelledWithCentre {
        case centre
        case north, south, east, west
        case northEast = "north_east"
        case northWest = "north_west"
        case southEast = "south_east"
        case southWest = "south_west"
        /// Tiled over the whole image, the offsets the space between tiles.
        case replicate
    }

    public static let kind = OperationKind.watermark
    public static let summary = "Lay the server's watermark image over the image (imgproxy's watermark); CALOTYPE_WATERMARK_PATH names it."

    public static let opacityParameter = Parameter<Double>(
        "opacity",
        shorthandKey: "watermark",
        summary: "How much of the watermark shows, 0.01 to 1 (its own transparency kept).",
        range: 0.01...1
    )
    public static let placeParameter = Parameter<Place>(
        "position",
        shorthandKey: "watermark_position",
        summary: "`centre` (or `center`), an edge or a corner, moved by the offsets; or `replicate`, tiled over the image.",
        default: .centre
    )
    public static let offsetXParameter = Position.offsetParameter(
        .x,
        shorthandKey: "watermark_offset_x",
        of: "the image",
        summary:
            "At an edge or corner: how far it moves inward from the edge the position names (right from the middle otherwise); with `replicate`, the space between tiles. 1 or more (either sign) is pixels, under 1 a fraction of the image's width."
    )
    public static let offsetYParameter = Position.offsetParameter(
        .y,
        shorthandKey: "watermark_offset_y",
        of: "the image",
        summary: "The same downward or inward from the top or bottom edge, or between rows of tiles; pixels, or a fraction of the image's height."
    )
    public static let scaleParameter = Parameter<Double>(
        "scale",
        shorthandKey: "watermark_scale",
        summary: "Fit the watermark into this share of the image's width and height (0: its own size).",
        default: 0,
        range: 0...1
    )

    public static let bound = [
        opacityParameter.bound(to: \Self.opacity),
        placeParameter.bound(to: \Self.place),
        offsetXParameter.bound(to: \Self.offsetX),
        offsetYParameter.bound(to: \Self.offsetY),
        scaleParameter.bound(to: \Self.scale),
    ]

    public var opacity = 1.0
    public var place = Place.centre
    public var offsetX = 0.0
    public var offsetY = 0.0
    public var scale = 0.0

    public init(opacity: Double, place: Place = .centre, offsetX: Double = 0, offsetY: Double = 0, scale: Double = 0) throws(RecipeError) {
        (self.opacity, self.place, self.offsetX, self.offsetY, self.scale) = (opacity, place, offsetX, offsetY, scale)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .watermark(self) }

    /// Where a `width` x `height` watermark goes on an image of
    /// `imageWidth` x `imageHeight` (not for `replicate`).
    public func origin(width: Int, height: Int, imageWidth: Int, imageHeight: Int) -> (x: Int, y: Int) {
        let position = Position(.compass(place.compassPoint ?? .centre, offsetX: offsetX, offsetY: offsetY))
        return position.origin(innerWidth: width, innerHeight: height, outerWidth: imageWidth, outerHeight: imageHeight)
    }

    /// With `replicate`: the space around each tile, in pixels (half the
    /// space between tiles on each side).
    public func tileMargins(imageWidth: Int, imageHeight: Int) -> (x: Int, y: Int) {
        (max(0, Position.offset(offsetX, of: imageWidth)) / 2, max(0, Position.offset(offsetY, of: imageHeight)) / 2)
    }
}
