/// Places the image on a larger canvas, never cropping it: one at least
/// `width` x `height` (imgproxy's `extend`), or the smallest canvas of the
/// `width`:`height` aspect ratio that holds it (`extend_aspect_ratio`). The
/// image sits where its gravity says; the rest is `background`.
public struct Extend: PipelineOperation, PlacedByGravity {
    /// What `width` and `height` say.
    public enum Mode: String, StringEnumParameter {
        /// The canvas's least size (a side left out keeps the image's).
        case size
        /// The canvas's aspect ratio; both sides are given.
        case aspect
    }

    public static let kind = OperationKind.extend
    public static let summary =
        "Place the image on a larger canvas (a least size or an aspect ratio), by gravity, never cropping (imgproxy's extend)."

    public static let widthParameter = Parameter<Int>(
        "width",
        shorthandKey: "extend_width",
        summary: "The canvas's least width (mode `size`), or the ratio's width (mode `aspect`).",
        range: 1...16384
    )
    public static let heightParameter = Parameter<Int>(
        "height",
        shorthandKey: "extend_height",
        summary: "The canvas's least height, or the ratio's height.",
        range: 1...16384
    )
    public static let modeParameter = Parameter<Mode>(
        "mode",
        shorthandKey: "extend_mode",
        summary: "`size`: at least width x height; `aspect`: the least canvas of the width:height ratio.",
        default: .size
    )
    public static let gravityParameter = Parameter<PositionGravity>(
        "gravity",
        shorthandKey: "extend_gravity",
        summary: "Where the image sits on the canvas: `centre` (or `center`), an edge, a corner, or `focus`.",
        default: .centre
    )
    public static let offsetXParameter = Position.offsetParameter(.x, shorthandKey: "extend_offset_x", of: "the canvas")
    public static let offsetYParameter = Position.offsetParameter(.y, shorthandKey: "extend_offset_y", of: "the canvas")
    public static let focusXParameter = Position.focusParameter(.x, shorthandKey: "extend_focus_x")
    public static let focusYParameter = Position.focusParameter(.y, shorthandKey: "extend_focus_y")
    public static let backgroundParameter = Parameter<Colour>(
        "background",
        shorthandKey: "extend_background",
        summary: "The canvas's colour, #rrggbb or #rrggbbaa (transparent by default: white where the format has no alpha).",
        default: .transparent,
        allowedDescription: "a colour #rgb, #rrggbb or #rrggbbaa",
        isAllowed: { _ in true }
    )

    /// Width, height or both.
    public static let requiresAnyOf = [[widthParameter.key], [heightParameter.key]]

    public static let bound = [
        widthParameter.bound(to: \Self.width),
        heightParameter.bound(to: \Self.height),
        modeParameter.bound(to: \Self.mode),
        gravityParameter.bound(to: \Self.gravity),
        offsetXParameter.bound(to: \Self.offsetX),
        offsetYParameter.bound(to: \Self.offsetY),
        focusXParameter.bound(to: \Self.focusX),
        focusYParameter.bound(to: \Self.focusY),
        backgroundParameter.bound(to: \Self.background),
    ]

    public var width: Int?
    public var height: Int?
    public var mode = Mode.size
    public var gravity = PositionGravity.centre
    public var offsetX = 0.0
    public var offsetY = 0.0
    public var focusX = 0.5
    public var focusY = 0.5
    public var background = Colour.transparent

    public init(
        width: Int? = nil,
        height: Int? = nil,
        mode: Mode = .size,
        gravity: PositionGravity = .centre,
        background: Colour = .transparent
    )
        throws(RecipeError)
    {
        (self.width, self.height, self.mode, self.gravity, self.background) = (width, height, mode, gravity, background)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public func checkCombination() throws(RecipeError) {
        if width == nil && height == nil {
            throw RecipeError(field: Self.widthParameter.key, reason: .missing("extend needs width, height or both"))
        }
        if mode == .aspect && (width == nil || height == nil) {
            throw RecipeError(
                field: width == nil ? Self.widthParameter.key : Self.heightParameter.key,
                reason: .missing("an aspect ratio needs both sides")
            )
        }
        try gravityNumbers.check(compass: gravity.compassPoint, focused: gravity == .focus, gravity: gravity.rawValue)
    }

    /// Where the image sits on the canvas.
    public var position: Position { gravityNumbers.position(compass: gravity.compassPoint, focused: gravity == .focus) ?? .centre }

    public var asOperation: Operation { .extend(self) }

    /// The canvas for an image of `imageWidth` x `imageHeight`: never
    /// smaller than the image on either side. Every backend extends to this.
    public func canvas(forWidth imageWidth: Int, height imageHeight: Int) -> (width: Int, height: Int) {
        switch mode {
        case .size:
            return (max(imageWidth, width ?? 0), max(imageHeight, height ?? 0))
        case .aspect:
            let ratio = Double(width ?? 1) / Double(height ?? 1)
            if Double(imageWidth) / Double(imageHeight) < ratio {
                return (max(imageWidth, Int((Double(imageHeight) * ratio).rounded())), imageHeight)
            }
            return (imageWidth, max(imageHeight, Int((Double(imageWidth) / ratio).rounded())))
        }
    }
}
