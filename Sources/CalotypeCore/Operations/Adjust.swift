import Foundation

/// Brightness, contrast and gamma on the colour bands (alpha is untouched).
///
/// Defined as one 256-entry table computed on the host in double precision,
/// so every backend applies literally the same mapping.
public struct Adjust: PipelineOperation {
    public static let kind = OperationKind.adjust
    public static let summary = "Brightness, contrast and gamma on the colour bands, as one 8-bit lookup table."

    public static let brightnessParameter = Parameter<Double>(
        "brightness",
        summary: "Added to every value, as a fraction of full scale.",
        default: 0,
        range: -1...1
    )
    public static let contrastParameter = Parameter<Double>(
        "contrast",
        summary: "Multiplies the distance from mid-grey.",
        default: 1,
        range: 0...10
    )
    public static let gammaParameter = Parameter<Double>(
        "gamma",
        summary: "Values v in 0...1 become v^(1/gamma); above 1 brightens mid-tones.",
        default: 1,
        range: 0.1...10
    )

    public static let parameters = [brightnessParameter, contrastParameter, gammaParameter].map(\.info)

    public var brightness: Double
    public var contrast: Double
    public var gamma: Double

    public init(brightness: Double = 0, contrast: Double = 1, gamma: Double = 1) throws(RecipeError) {
        self.brightness = try Self.brightnessParameter.validated(brightness)
        self.contrast = try Self.contrastParameter.validated(contrast)
        self.gamma = try Self.gammaParameter.validated(gamma)
    }

    public init(reading parameters: ParameterReader) throws(RecipeError) {
        brightness = try parameters.value(Self.brightnessParameter)
        contrast = try parameters.value(Self.contrastParameter)
        gamma = try parameters.value(Self.gammaParameter)
    }

    public func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.brightnessParameter, brightness)
        parameters.write(Self.contrastParameter, contrast)
        parameters.write(Self.gammaParameter, gamma)
    }

    public var asOperation: Operation { .adjust(self) }

    /// The mapping every backend applies to each colour value:
    /// `v = i/255; v = v^(1/gamma); v = (v - 0.5) * contrast + 0.5 + brightness`,
    /// rounded half-to-even and clamped to 0...255.
    public var lookupTable: [UInt8] {
        (0...255).map { index in
            var value = Double(index) / 255
            value = pow(value, 1 / gamma)
            value = (value - 0.5) * contrast + 0.5 + brightness
            let scaled = (value * 255).rounded(.toNearestOrEven)
            return UInt8(min(max(scaled, 0), 255))
        }
    }
}
