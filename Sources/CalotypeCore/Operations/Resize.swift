/// Scales the image to a target box, the way `vips_thumbnail` does.
///
/// Resizing is where most of an image service's time goes, so the CPU backend
/// fuses it with decoding whenever it is the recipe's first step
/// (shrink-on-load), and `fast_shrink` lets the decoder do more of it.
public struct Resize: PipelineOperation, PlacedByGravity {
    /// How the image meets the target box when both sides are given.
    public enum Fit: String, StringEnumParameter {
        /// Fit within the box, keeping the aspect ratio.
        case inside
        /// Fill the box, keeping the aspect ratio, then crop the overflow (see `gravity`).
        case cover
        /// Stretch to exactly the box.
        case fill
        /// Fit within the box, then pad to exactly the box with `background`.
        case contain
        /// `cover` when the image and the box have the same orientation
        /// (both landscape or both portrait), else `inside` (imgproxy's
        /// `auto`), decided against the image as it is at this step.
        case auto
    }

    /// Which part of the image `cover` keeps.
    public enum Gravity: String, SpelledWithCentre {
        /// The middle.
        case centre
        /// An edge or a corner (imgproxy's `no`, `so`, `ea`, `we`, `noea`,
        /// `nowe`, `soea`, `sowe`), moved by `offset_x`, `offset_y`.
        case north, south, east, west
        case northEast = "north_east"
        case northWest = "north_west"
        case southEast = "south_east"
        case southWest = "south_west"
        /// Centred on `focus_x`, `focus_y` (imgproxy's `fp`).
        case focus
        /// The most interesting region by libvips' attention model (skin, saturation, edges).
        case attention
        /// The region with the most entropy.
        case entropy
    }

    public static let kind = OperationKind.resize
    public static let summary = "Scale to fit a box (Lanczos3, as vips_thumbnail), with shrink-on-load when it comes first."

    public static let widthParameter = Parameter<Int>(
        "width",
        summary: "Target width in pixels; omit to follow the height.",
        range: 1...16384
    )
    public static let heightParameter = Parameter<Int>(
        "height",
        summary: "Target height in pixels; omit to follow the width.",
        range: 1...16384
    )
    public static let scaleParameter = Parameter<Double>(
        "scale",
        summary: "Instead of a box: scale both sides by this factor (imgproxy's zoom without a size); up only with `enlarge`.",
        range: 0.001...16
    )
    public static let minWidthParameter = Parameter<Int>(
        "min_width",
        summary: "At least this wide: scaled up to it if the box would make it narrower, even without `enlarge` (imgproxy's min-width).",
        range: 1...16384
    )
    public static let minHeightParameter = Parameter<Int>(
        "min_height",
        summary: "At least this high, as `min_width` (imgproxy's min-height).",
        range: 1...16384
    )
    public static let fitParameter = Parameter<Fit>(
        "fit",
        summary:
            "How the image meets the box when both sides are given (`auto`: `cover` when the image and the box have the same orientation, else `inside`).",
        default: .inside
    )
    public static let gravityParameter = Parameter<Gravity>(
        "gravity",
        summary: "Which part `cover` keeps (`center` is accepted too).",
        default: .centre
    )
    public static let offsetXParameter = Position.offsetParameter(.x, shorthandKey: "offset_x", of: "the scaled image")
    public static let offsetYParameter = Position.offsetParameter(.y, shorthandKey: "offset_y", of: "the scaled image")
    public static let focusXParameter = Position.focusParameter(.x, shorthandKey: "focus_x")
    public static let focusYParameter = Position.focusParameter(.y, shorthandKey: "focus_y")
    public static let enlargeParameter = Parameter<Bool>(
        "enlarge",
        summary: "Allow scaling up; by default a smaller image keeps its size.",
        default: false
    )
    public static let fastShrinkParameter = Parameter<Bool>(
        "fast_shrink",
        summary:
            "Let the JPEG/WebP decoder shrink by the largest power of two that still leaves the target size (faster, about 40 dB against Lanczos instead of 50); false matches vipsthumbnail exactly.",
        default: true
    )
    public static let backgroundParameter = Parameter<Colour>(
        "background",
        summary: "Padding colour for `contain`, #rrggbb or #rrggbbaa.",
        default: .white,
        allowedDescription: "a colour #rgb, #rrggbb or #rrggbbaa",
        isAllowed: { _ in true }
    )

    /// Width, height or both, or a scale.
    public static let requiresAnyOf = [[widthParameter.key], [heightParameter.key], [scaleParameter.key]]

    public static let bound = [
        widthParameter.bound(to: \Self.width),
        heightParameter.bound(to: \Self.height),
        scaleParameter.bound(to: \Self.scale),
        minWidthParameter.bound(to: \Self.minWidth),
        minHeightParameter.bound(to: \Self.minHeight),
        fitParameter.bound(to: \Self.fit),
        gravityParameter.bound(to: \Self.gravity),
        offsetXParameter.bound(to: \Self.offsetX),
        offsetYParameter.bound(to: \Self.offsetY),
        focusXParameter.bound(to: \Self.focusX),
        focusYParameter.bound(to: \Self.focusY),
        enlargeParameter.bound(to: \Self.enlarge),
        fastShrinkParameter.bound(to: \Self.fastShrink),
        backgroundParameter.bound(to: \Self.background),
    ]

    public var width: Int?
    public var height: Int?
    public var scale: Double?
    public var minWidth: Int?
    public var minHeight: Int?
    public var fit = Fit.inside
    public var gravity = Gravity.centre
    public var offsetX = 0.0
    public var offsetY = 0.0
    public var focusX = 0.5
    public var focusY = 0.5
    public var enlarge = false
    public var fastShrink = true
    public var background = Colour.white

    public init(
        width: Int? = nil,
        height: Int? = nil,
        fit: Fit = .inside,
        gravity: Gravity = .centre,
        enlarge: Bool = false,
        fastShrink: Bool = true,
        background: Colour = .white
    ) throws(RecipeError) {
        (self.width, self.height, self.fit, self.gravity) = (width, height, fit, gravity)
        (self.enlarge, self.fastShrink, self.background) = (enlarge, fastShrink, background)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    /// Width, height or both; offsets only with a compass gravity, a focus
    /// point only with `focus` (either would be ignored otherwise).
    public func checkCombination() throws(RecipeError) {
        if width == nil && height == nil && scale == nil {
            throw RecipeError(field: "width", reason: .missing("resize needs width, height or both, or a scale"))
        }
        if scale != nil && (width != nil || height != nil) {
            throw RecipeError(field: Self.scaleParameter.key, reason: .malformed("not given with width or height: a scale is instead of a box"))
        }
        try gravityNumbers.check(compass: gravity.compassPoint, focused: gravity == .focus, gravity: gravity.rawValue)
    }

    /// Where `cover` cuts its box from the scaled image: nil for the
    /// gravities libvips' smart crop decides (`attention`, `entropy`).
    public var position: Position? { gravityNumbers.position(compass: gravity.compassPoint, focused: gravity == .focus) }

    public var asOperation: Operation { .resize(self) }

    /// Whether it scales by a factor or to a minimum size, which only the
    /// full plan (`ResizePlan`) computes: neither `vips_thumbnail` nor the
    /// GPU's box arithmetic knows them.
    public var scalesBeyondTheBox: Bool { scale != nil || minWidth != nil || minHeight != nil }

    /// The fit that actually applies: `cover`, `fill` and `contain` need both
    /// sides of the box; with one side given every fit is `inside`. `auto`
    /// is decided by `resolved(forWidth:height:)`, which every backend calls
    /// with the image's size at this step before it reads this.
    public var effectiveFit: Fit {
        width != nil && height != nil ? fit : .inside
    }

    /// This resize for an image of `imageWidth` x `imageHeight` (as it is
    /// shown, at this step): `auto` becomes `cover` when the image and the
    /// box have the same orientation, else `inside`; other fits stay.
    public func resolved(forWidth imageWidth: Int, height imageHeight: Int) -> Resize {
        guard fit == .auto else { return self }
        var resolved = self
        if let width, let height {
            resolved.fit = (imageWidth >= imageHeight) == (width >= height) ? .cover : .inside
        } else {
            resolved.fit = .inside
        }
        return resolved
    }

}
