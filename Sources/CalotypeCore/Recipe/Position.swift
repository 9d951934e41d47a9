/// An enumeration with a `centre` case, which `center` spells too.
public protocol SpelledWithCentre: StringEnumParameter {}

extension SpelledWithCentre {
    public init?(shorthand: String) {
        let text = shorthand.lowercased()
        self.init(rawValue: text == "center" ? "centre" : text)
    }

    /// The compass point of the same name, for the cases that are one.
    public var compassPoint: CompassPoint? { CompassPoint(rawValue: rawValue) }
}

/// An operation placed by gravity: its two offsets and its focus point,
/// declared alike (`Position.offsetParameter`, `focusParameter`).
public protocol PlacedByGravity {
    var offsetX: Double { get }
    var offsetY: Double { get }
    var focusX: Double { get }
    var focusY: Double { get }
    static var offsetXParameter: Parameter<Double> { get }
    static var offsetYParameter: Parameter<Double> { get }
    static var focusXParameter: Parameter<Double> { get }
    static var focusYParameter: Parameter<Double> { get }
}

extension PlacedByGravity {
    /// The gravity's numbers, with the keys they are declared under.
    public var gravityNumbers: Position.Numbers {
        Position.Numbers(
            offsets: (offsetX, offsetY),
            focus: (focusX, focusY),
            keys: (Self.offsetXParameter.key, Self.offsetYParameter.key, Self.focusXParameter.key, Self.focusYParameter.key)
        )
    }
}

/// A compass point of a rectangle: where `cover` and `crop` cut, where
/// `extend` puts the image on its canvas (imgproxy's gravity types).
public enum CompassPoint: String, SpelledWithCentre {
    case centre
    case north, south, east, west
    case northEast = "north_east"
    case northWest = "north_west"
    case southEast = "south_east"
    case southWest = "south_west"

}

/// Where a rectangle of `inner` size sits inside one of `outer` size: at a
/// compass point, moved by an offset, or centred on a focus point. One
/// arithmetic for every backend and every operation that places something
/// (imgproxy's gravity, with its offsets and `fp`).
public struct Position: Hashable, Sendable {
    public enum Anchor: Hashable, Sendable {
        /// At a compass point, moved `offsetX`, `offsetY` inward from the
        /// edges it names (from the middle along an axis it does not name:
        /// there a positive offset moves right or down). An offset of 1 or
        /// more (either sign) is in pixels; under 1, a fraction of the
        /// outer rectangle's side.
        case compass(CompassPoint, offsetX: Double, offsetY: Double)
        /// Centred on the point at these fractions (0...1) of the outer
        /// rectangle's width and height, as far as it stays inside.
        case focus(x: Double, y: Double)
    }

    public var anchor: Anchor

    public init(_ anchor: Anchor) {
        self.anchor = anchor
    }

    public static let centre = Position(.compass(.centre, offsetX: 0, offsetY: 0))

    /// The largest offset in pixels: no image is wider.
    public static let offsetRange: ClosedRange<Double> = -16384...16384

    /// The top left corner of the inner rectangle, within the outer one
    /// (clamped so that it stays inside where it fits; an inner rectangle
    /// larger than the outer one is centred on it, at a negative corner).
    public func origin(innerWidth: Int, innerHeight: Int, outerWidth: Int, outerHeight: Int) -> (x: Int, y: Int) {
        let x: Int
        let y: Int
        switch anchor {
        case .focus(let fx, let fy):
            x = Self.pixels(fx, of: outerWidth) - innerWidth / 2
            y = Self.pixels(fy, of: outerHeight) - innerHeight / 2
        case .compass(let point, let offsetX, let offsetY):
            let dx = Self.offset(offsetX, of: outerWidth)
            let dy = Self.offset(offsetY, of: outerHeight)
            let slackX = outerWidth - innerWidth
            let slackY = outerHeight - innerHeight
            switch point {
            case .west, .northWest, .southWest: x = dx
            case .east, .northEast, .southEast: x = slackX - dx
            case .centre, .north, .south: x = slackX / 2 + dx
            }
            switch point {
            case .north, .northEast, .northWest: y = dy
            case .south, .southEast, .southWest: y = slackY - dy
            case .centre, .east, .west: y = slackY / 2 + dy
            }
        }
        return (Self.clamp(x, slack: outerWidth - innerWidth), Self.clamp(y, slack: outerHeight - innerHeight))
    }

    /// Within 0...slack, or centred when the inner side is the larger.
    private static func clamp(_ value: Int, slack: Int) -> Int {
        slack < 0 ? slack / 2 : min(max(value, 0), slack)
    }

    /// An offset in pixels: itself from 1 up (either sign), else a fraction
    /// of `side`. Offsets are declared within `offsetRange`, so the
    /// conversion cannot trap.
    public static func offset(_ value: Double, of side: Int) -> Int {
        let clamped = min(max(value, offsetRange.lowerBound), offsetRange.upperBound)
        guard clamped.isFinite else { return 0 }
        return abs(clamped) >= 1 ? Int(clamped.rounded()) : pixels(clamped, of: side)
    }

    /// `fraction` of `side`, rounded.
    static func pixels(_ fraction: Double, of side: Int) -> Int {
        let value = (min(max(fraction, -1), 1) * Double(side)).rounded()
        return value.isFinite ? Int(value) : 0
    }
}

/// The gravities placed by arithmetic alone: a compass point or a focus
/// point (what `extend` and `watermark` take; `cover` adds libvips' smart
/// crops, `crop` a rectangle at x, y).
public enum PositionGravity: String, SpelledWithCentre {
    case centre
    case north, south, east, west
    case northEast = "north_east"
    case northWest = "north_west"
    case southEast = "south_east"
    case southWest = "south_west"
    /// Centred on the focus point.
    case focus
}

/// The numbers every placing operation declares beside its gravity, alike:
/// two offsets from a compass point and a focus point.
extension Position {
    public enum Axis: Sendable {
        case x, y
    }

    /// `offset_x` or `offset_y`, measured against `subject` ("the scaled
    /// image", "the canvas").
    public static func offsetParameter(_ axis: Axis, shorthandKey: String, of subject: String, summary: String? = nil) -> Parameter<Double> {
        Parameter<Double>(
            axis == .x ? "offset_x" : "offset_y",
            shorthandKey: shorthandKey,
            summary: summary
                ?? (axis == .x
                    ? "With a compass gravity: how far it moves inward from the edge the gravity names (right from the middle for `centre`, `north`, `south`); 1 or more (either sign) is pixels, under 1 a fraction of \(subject)'s width."
                    : "The same downward, or inward from the top or bottom edge; pixels, or a fraction of \(subject)'s height."),
            default: 0,
            range: offsetRange
        )
    }

    /// `focus_x` or `focus_y`: the point gravity `focus` centres on.
    public static func focusParameter(_ axis: Axis, shorthandKey: String) -> Parameter<Double> {
        Parameter<Double>(
            axis == .x ? "focus_x" : "focus_y",
            shorthandKey: shorthandKey,
            summary: axis == .x
                ? "With gravity `focus`: the point to centre on, as a fraction of the width (0 left, 1 right)."
                : "With gravity `focus`: the same as a fraction of the height (0 top, 1 bottom).",
            default: 0.5,
            range: 0...1
        )
    }

    /// A gravity's numbers as given: `offsets` (x, y) and `focus` (x, y),
    /// with the keys they were declared under.
    public struct Numbers {
        public var offsets: (x: Double, y: Double)
        public var focus: (x: Double, y: Double)
        public var keys: (offsetX: String, offsetY: String, focusX: String, focusY: String)

        public init(offsets: (Double, Double), focus: (Double, Double), keys: (String, String, String, String)) {
            (self.offsets, self.focus, self.keys) = (offsets, focus, keys)
        }

        /// Offsets only with a compass gravity, a focus point only with
        /// `focus`: anything else would be ignored, so it is refused.
        public func check(compass: CompassPoint?, focused: Bool, gravity: String) throws(RecipeError) {
            if compass == nil && (offsets.x != 0 || offsets.y != 0) {
                throw RecipeError(
                    field: offsets.x != 0 ? keys.offsetX : keys.offsetY,
                    reason: .malformed("only given with a compass gravity (centre, north, ..., south_west), not \(gravity)")
                )
            }
            if !focused && (focus.x != 0.5 || focus.y != 0.5) {
                throw RecipeError(field: focus.x != 0.5 ? keys.focusX : keys.focusY, reason: .malformed("only given with gravity focus"))
            }
        }

        /// Where they place, for a compass or focus gravity; nil for others.
        public func position(compass: CompassPoint?, focused: Bool) -> Position? {
            if focused { return Position(.focus(x: focus.x, y: focus.y)) }
            return compass.map { Position(.compass($0, offsetX: offsets.x, offsetY: offsets.y)) }
        }
    }
}
