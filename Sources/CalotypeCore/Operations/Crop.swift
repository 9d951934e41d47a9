/// Cuts a rectangle out of the image, in the pixels of the image as it is at
/// this step of the pipeline.
///
/// A rectangle that runs past the edge is clamped to the image; one that
/// misses the image entirely is an error (`crop_outside_image`), since there is
/// nothing sensible to return.
public struct Crop: PipelineOperation {
    /// Where the rectangle is.
    public enum Gravity: String, StringEnumParameter {
        /// At `x`, `y` (`none`: no gravity).
        case atOffset = "none"
        /// In the middle of the image as it is at this step (imgproxy's
        /// `c:width:height`), its size clamped to the image; `x` and `y`
        /// are not given.
        case centre

        public init?(shorthand: String) {
            let text = shorthand.lowercased()
            self.init(rawValue: text == "center" ? "centre" : text)
        }
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
        summary: "`centre`: the rectangle in the middle of the image (`center` is accepted too); `none`: at x, y.",
        default: .atOffset
    )

    public static let bound = [
        xParameter.bound(to: \Self.x),
        yParameter.bound(to: \Self.y),
        widthParameter.bound(to: \Self.width),
        heightParameter.bound(to: \Self.height),
        gravityParameter.bound(to: \Self.gravity),
    ]

    public var x = 0
    public var y = 0
    public var width = 1
    public var height = 1
    public var gravity = Gravity.atOffset

    public init(x: Int = 0, y: Int = 0, width: Int, height: Int, gravity: Gravity = .atOffset) throws(RecipeError) {
        (self.x, self.y, self.width, self.height, self.gravity) = (x, y, width, height, gravity)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    /// A centred rectangle has no corner of its own: `x` and `y` with it
    /// would be ignored, so they are refused.
    public func checkCombination() throws(RecipeError) {
        if gravity == .centre && (x != 0 || y != 0) {
            throw RecipeError(
                field: x != 0 ? Self.xParameter.key : Self.yParameter.key,
                reason: .malformed("not given with gravity centre, which places the rectangle itself")
            )
        }
    }

    public var asOperation: Operation { .crop(self) }

    /// The rectangle clamped to an image of `imageWidth` x `imageHeight` (or
    /// centred in it), or `nil` when it lies wholly outside. Every backend
    /// crops to this.
    public func clamped(toWidth imageWidth: Int, height imageHeight: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        if gravity == .centre {
            guard imageWidth > 0, imageHeight > 0 else { return nil }
            let (width, height) = (min(width, imageWidth), min(height, imageHeight))
            return ((imageWidth - width) / 2, (imageHeight - height) / 2, width, height)
        }
        guard x < imageWidth, y < imageHeight else { return nil }
        return (x, y, min(width, imageWidth - x), min(height, imageHeight - y))
    }
}
