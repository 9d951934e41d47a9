/// How the result is encoded. Output is always 8-bit sRGB (or 8-bit grey),
/// with alpha kept where the format has it.
public struct OutputOptions: Hashable, Sendable {
    public static let formatParameter = Parameter<OutputFormat>(
        "format",
        summary: "Encoded format (`original` keeps the input's where it can; jpg is accepted).",
        default: .original
    )
    public static let qualityParameter = Parameter<Int>(
        "quality",
        summary: "Encoder quality for JPEG, WebP and AVIF.",
        default: 80,
        range: 1...100
    )
    public static let stripParameter = Parameter<Bool>(
        "strip",
        summary: "Drop metadata (EXIF, XMP, ICC after conversion to sRGB).",
        default: true
    )

    public static let parameters = [formatParameter.info, qualityParameter.info, stripParameter.info]

    public var format: OutputFormat
    public var quality: Int
    public var strip: Bool

    public init(format: OutputFormat = .original, quality: Int = 80, strip: Bool = true) throws(RecipeError) {
        self.format = format
        self.quality = try Self.qualityParameter.validated(quality)
        self.strip = strip
    }

    init(reading parameters: ParameterReader) throws(RecipeError) {
        format = try parameters.value(Self.formatParameter)
        quality = try parameters.value(Self.qualityParameter)
        strip = try parameters.value(Self.stripParameter)
    }

    func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.formatParameter, format)
        parameters.write(Self.qualityParameter, quality)
        parameters.write(Self.stripParameter, strip)
    }

    /// The format to write for an input decoded from `source`.
    public func resolvedFormat(for source: SourceFormat) -> OutputFormat {
        format == .original ? source.outputFormat : format
    }
}
