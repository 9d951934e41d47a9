/// Turns the image clockwise by a right angle.
///
/// EXIF orientation is applied before the recipe runs (unless the recipe says
/// `autorotate: false`), so angles are relative to the image as people see it.
public struct Rotate: PipelineOperation {
    public static let kind = OperationKind.rotate
    public static let summary = "Rotate clockwise by 90, 180 or 270 degrees (after EXIF auto-orientation)."

    public static let angleParameter = Parameter<Int>(
        "angle",
        shorthandKey: "rotate",
        summary: "Clockwise angle in degrees.",
        allowedDescription: "one of 90, 180, 270",
        isAllowed: { [90, 180, 270].contains($0) }
    )

    public static let bound = [angleParameter.bound(to: \Self.angle)]

    public var angle = 90

    public init(angle: Int) throws(RecipeError) {
        self.angle = angle
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .rotate(self) }
}
