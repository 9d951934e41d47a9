/// Adds space around the image, in `background` (imgproxy's `padding`):
/// the image grows by the four sides.
public struct Padding: PipelineOperation {
    public static let kind = OperationKind.padding
    public static let summary = "Add space around the image, each side in pixels, in the background colour (imgproxy's padding)."

    public static let topParameter = Parameter<Int>("top", shorthandKey: "padding_top", summary: "Rows added above.", default: 0, range: 0...16384)
    public static let rightParameter = Parameter<Int>(
        "right",
        shorthandKey: "padding_right",
        summary: "Columns added on the right.",
        default: 0,
        range: 0...16384
    )
    public static let bottomParameter = Parameter<Int>(
        "bottom",
        shorthandKey: "padding_bottom",
        summary: "Rows added below.",
        default: 0,
        range: 0...16384
    )
    public static let leftParameter = Parameter<Int>(
        "left",
        shorthandKey: "padding_left",
        summary: "Columns added on the left.",
        default: 0,
        range: 0...16384
    )
    public static let backgroundParameter = Parameter<Colour>(
        "background",
        shorthandKey: "padding_background",
        summary: "The added space's colour, #rrggbb or #rrggbbaa (transparent by default: white where the format has no alpha).",
        default: .transparent,
        allowedDescription: "a colour #rgb, #rrggbb or #rrggbbaa",
        isAllowed: { _ in true }
    )

    public static let bound = [
        topParameter.bound(to: \Self.top),
        rightParameter.bound(to: \Self.right),
        bottomParameter.bound(to: \Self.bottom),
        leftParameter.bound(to: \Self.left),
        backgroundParameter.bound(to: \Self.background),
    ]

    public var top = 0
    public var right = 0
    public var bottom = 0
    public var left = 0
    public var background = Colour.transparent

    public init(top: Int = 0, right: Int = 0, bottom: Int = 0, left: Int = 0, background: Colour = .transparent) throws(RecipeError) {
        (self.top, self.right, self.bottom, self.left, self.background) = (top, right, bottom, left, background)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    /// A padding of nothing would be ignored: at least one side is given.
    public func checkCombination() throws(RecipeError) {
        if top == 0 && right == 0 && bottom == 0 && left == 0 {
            throw RecipeError(field: Self.topParameter.key, reason: .missing("padding needs at least one side above 0"))
        }
    }

    public var asOperation: Operation { .padding(self) }
}
