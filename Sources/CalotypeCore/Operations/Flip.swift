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

    public static let parameters = [directionParameter.info]

    public var direction: Direction

    public init(direction: Direction) {
        self.direction = direction
    }

    public init(reading parameters: ParameterReader) throws(RecipeError) {
        direction = try parameters.value(Self.directionParameter)
    }

    public func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.directionParameter, direction)
    }

    public var asOperation: Operation { .flip(self) }
}
