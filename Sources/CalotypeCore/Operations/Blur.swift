/// Gaussian blur with libvips' integer mask (`vips_gaussblur`, `min_ampl` 0.2),
/// which the GPU backend reproduces exactly.
public struct Blur: PipelineOperation {
    public static let kind = OperationKind.blur
    public static let summary = "Gaussian blur of standard deviation sigma (vips_gaussblur)."

    public static let sigmaParameter = Parameter<Double>(
        "sigma",
        shorthandKey: "blur",
        summary: "Standard deviation in pixels.",
        range: 0.2...100
    )

    public static let bound = [sigmaParameter.bound(to: \Self.sigma)]

    public var sigma = 0.0

    public init(sigma: Double) throws(RecipeError) {
        self.sigma = sigma
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .blur(self) }
}
