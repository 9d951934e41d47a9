/// Mirrors the image.
public struct Flip: PipelineOperation {
    public enum Direction: String, StringEnumParameter {
        /// Left becomes right.
        case horizontal
        /// Top becomes bottom.
        case vertical
    }

    public static let kind = OperationKind.flip
    public static let summary = "Mirror left-right (horizontal) or top-bottom (vertical)."

    public static let directionParameter = Parameter<Direction>(
        "direction",
        shorthandKey: "flip",
        summary: "Which way to mirror."
    )

    public static let bound = [directionParameter.bound(to: \Self.direction)]

    public var direction: Direction

    public init(direction: Direction) {
        self.direction = direction
    }

    public static var unread: Self { Self(direction: .horizontal) }

    public var asOperation: Operation { .flip(self) }
}
