/// How the result is encoded. Output is always 8-bit sRGB (or 8-bit grey),
/// with alpha kept where the format has it.
public struct OutputOptions: ParameterBound, Hashable, Sendable {
    public static let formatParameter = Parameter<OutputFormat>(
        "format",
        summary: "Encoded format (`original` keeps the input's where it can; jpg is accepted).",
        default: .original
    )
    public static let qualityParameter = Parameter<Int>(
        "quality",
        summary: "Encoder quality for JPEG, WebP, AVIF and JPEG XL.",
        default: 80,
        range: 1...100
    )
    public static let stripParameter = Parameter<Bool>(
        "strip",
        summary: "Drop metadata (EXIF, XMP, ICC after conversion to sRGB).",
        default: true
    )

    public static let bound = [
        formatParameter.bound(to: \Self.format),
        qualityParameter.bound(to: \Self.quality),
        stripParameter.bound(to: \Self.strip),
    ]

    public var format = OutputFormat.original
    public var quality = 80
    public var strip = true

    public init(format: OutputFormat = .original, quality: Int = 80, strip: Bool = true) throws(RecipeError) {
        (self.format, self.quality, self.strip) = (format, quality, strip)
        self = try validated()
    }

    public static let unread = Self(unread: ())
    private init(unread: Void) {}

    /// Whether the output may keep an animated source's frames: GIF and
    /// WebP write animations (`original` keeps a GIF's or WebP's format);
    /// every other format takes the first frame.
    public var mayKeepAnimation: Bool { format == .original || format.animates }

    /// The format to write for an input decoded from `source`, where the
    /// encoders are `writable`: `original` falls back (GIF to PNG) when
    /// the source's own format cannot be written; a format named outright
    /// does not, and is refused by the backend instead.
    public func resolvedFormat(for source: SourceFormat, writable: Set<OutputFormat>) -> OutputFormat {
        guard format == .original else { return format }
        return writable.contains(source.outputFormat) ? source.outputFormat : source.fallbackOutputFormat
    }
}
