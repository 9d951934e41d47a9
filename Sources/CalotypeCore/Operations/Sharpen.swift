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

    public static let parameters = [sigmaParameter.info]

    public var sigma: Double

    public init(sigma: Double = 0.5) throws(RecipeError) {
        self.sigma = try Self.sigmaParameter.validated(sigma)
    }

    public init(reading parameters: ParameterReader) throws(RecipeError) {
        sigma = try parameters.value(Self.sigmaParameter)
    }

    /// The sigma is always written: in the shorthand it is what says "sharpen".
    public func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.sigmaParameter, sigma, evenIfDefault: true)
    }

    public var asOperation: Operation { .sharpen(self) }
}
