/// Cuts away a border of one colour (imgproxy's `trim`): the largest
/// rectangle whose outside differs from `colour` by no more than
/// `threshold`, found by libvips' `find_trim`.
public struct Trim: PipelineOperation {
    public static let kind = OperationKind.trim
    public static let summary = "Cut away a border of one colour, within a threshold (imgproxy's trim)."

    public static let thresholdParameter = Parameter<Double>(
        "threshold",
        shorthandKey: "trim",
        summary: "How far (0-255, per band) a pixel may be from the border's colour and still be border.",
        range: 0...255
    )
    public static let colourParameter = Parameter<Colour>(
        "colour",
        shorthandKey: "trim_colour",
        summary: "The border's colour, #rrggbb; left out, the top left pixel's.",
        allowedDescription: "a colour #rgb, #rrggbb or #rrggbbaa",
        isAllowed: { _ in true }
    )
    public static let equalHorizontalParameter = Parameter<Bool>(
        "equal_horizontal",
        shorthandKey: "trim_equal_horizontal",
        summary: "Cut as much from the left as from the right (the lesser of the two).",
        default: false
    )
    public static let equalVerticalParameter = Parameter<Bool>(
        "equal_vertical",
        shorthandKey: "trim_equal_vertical",
        summary: "Cut as much from the top as from the bottom (the lesser of the two).",
        default: false
    )

    public static let bound = [
        thresholdParameter.bound(to: \Self.threshold),
        colourParameter.bound(to: \Self.colour),
        equalHorizontalParameter.bound(to: \Self.equalHorizontal),
        equalVerticalParameter.bound(to: \Self.equalVertical),
    ]

    public var threshold = 10.0
    public var colour: Colour?
    public var equalHorizontal = false
    public var equalVertical = false

    public init(threshold: Double, colour: Colour? = nil, equalHorizontal: Bool = false, equalVertical: Bool = false) throws(RecipeError) {
        (self.threshold, self.colour, self.equalHorizontal, self.equalVertical) = (threshold, colour, equalHorizontal, equalVertical)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .trim(self) }

    /// The rectangle kept of a `width` x `height` image whose content
    /// (what differs from the border) spans `found`: the sides evened out
    /// as asked. Every backend keeps this.
    public func kept(
        found: (x: Int, y: Int, width: Int, height: Int),
        imageWidth: Int,
        imageHeight: Int
    )
        -> (x: Int, y: Int, width: Int, height: Int)
    {
        var (x, y, width, height) = found
        if equalHorizontal {
            let cut = min(x, imageWidth - x - width)
            (x, width) = (cut, imageWidth - 2 * cut)
        }
        if equalVertical {
            let cut = min(y, imageHeight - y - height)
            (y, height) = (cut, imageHeight - 2 * cut)
        }
        return (x, y, width, height)
    }
}
