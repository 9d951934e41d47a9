/// Flattens transparency onto a colour (imgproxy's `background`): the
/// image loses its alpha.
public struct Flatten: PipelineOperation {
    public static let kind = OperationKind.flatten
    public static let summary = "Flatten transparency onto a colour (imgproxy's background); the alpha band goes."

    public static let backgroundParameter = Parameter<Colour>(
        "background",
        shorthandKey: "flatten",
        summary: "The colour behind the image, #rgb or #rrggbb (its alpha, if given, is ignored).",
        allowedDescription: "a colour #rgb, #rrggbb or #rrggbbaa",
        isAllowed: { _ in true }
    )

    public static let bound = [backgroundParameter.bound(to: \Self.background)]

    public var background = Colour.white

    public init(background: Colour) throws(RecipeError) {
        self.background = background
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .flatten(self) }
}
