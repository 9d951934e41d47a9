/// libvips' unsharp mask on the lightness channel (`vips_sharpen` with its
/// default curve), so colours do not fringe.
public struct Sharpen: PipelineOperation {
    public static let kind = OperationKind.sharpen
    public static let summary = "Sharpen the lightness channel (vips_sharpen, default curve)."

    public static let sigmaParameter = Parameter<Double>(
        "sigma",
        shorthandKey: "sharpen",
        summary: "Radius of the mask's Gaussian, in pixels.",
        default: 0.5,
        range: 0.1...10
    )

    /// The sigma is always written: in the shorthand it is what says "sharpen".
    public static let bound = [sigmaParameter.bound(to: \Self.sigma, alwaysWritten: true)]

    public var sigma = 0.5

    public init(sigma: Double = 0.5) throws(RecipeError) {
        self.sigma = sigma
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    public var asOperation: Operation { .sharpen(self) }
}
