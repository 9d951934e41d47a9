/// A compass point of a rectangle: where `cover` and `crop` cut, where
/// `extend` puts the image on its canvas (imgproxy's gravity types).
public enum CompassPoint: String, StringEnumParameter {
    case centre
    case north, south, east, west
    case northEast = "north_east"
    case northWest = "north_west"
    case southEast = "south_east"
    case southWest = "south_west"

    public init?(shorthand: String) {
        let text = shorthand.lowercased()
        self.init(rawValue: text == "center" ? "centre" : text)
    }
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
    static func offset(_ value: Double, of side: Int) -> Int {
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
