/// Replaces each square block of the image by its mean colour, as
/// imgproxy's `pixelate` does: blocks start at the top left corner, and
/// those cut by the right or bottom edge average the image extended by
/// copying its edge; a block larger than the image is cut to it, so its
/// cost stays within a few times the image's. Run on the CPU (the GPU has
/// no kernels for it).
public struct Pixelate: PipelineOperation {
    public static let kind = OperationKind.pixelate
    public static let summary = "Replace each square block of pixels by its mean colour (imgproxy's pixelate)."

    public static let sizeParameter = Parameter<Int>(
        "size",
        shorthandKey: "pixelate",
        summary: "The side of a block in pixels, in the image as it is at this step.",
        range: 1...16384
    )

    public static let bound = [sizeParameter.bound(to: \Self.size)]

    public var size = 1

    public init(size: Int) throws(RecipeError) {
        self.size = size
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .pixelate(self) }
}
