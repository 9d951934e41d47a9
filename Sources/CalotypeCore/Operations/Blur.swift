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

    public static let parameters = [sigmaParameter.info]

    public var sigma: Double

    public init(sigma: Double) throws(RecipeError) {
        self.sigma = try Self.sigmaParameter.validated(sigma)
    }

    public init(reading parameters: ParameterReader) throws(RecipeError) {
        sigma = try parameters.value(Self.sigmaParameter)
    }

    public func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.sigmaParameter, sigma)
    }

    public var asOperation: Operation { .blur(self) }
}
