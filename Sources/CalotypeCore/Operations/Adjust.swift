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

    public static let bound = [
        brightnessParameter.bound(to: \Self.brightness),
        contrastParameter.bound(to: \Self.contrast),
        gammaParameter.bound(to: \Self.gamma),
    ]

    public var brightness = 0.0
    public var contrast = 1.0
    public var gamma = 1.0

    public init(brightness: Double = 0, contrast: Double = 1, gamma: Double = 1) throws(RecipeError) {
        (self.brightness, self.contrast, self.gamma) = (brightness, contrast, gamma)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

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
