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
    /// A format's own quality, over `quality` for that format alone
    /// (imgproxy's `format_quality`).
    static func qualityParameter(for format: OutputFormat, name: String) -> Parameter<Int> {
        Parameter<Int>(
            "quality_\(format.rawValue)",
            summary: "Encoder quality for \(name) output only, over `quality` (imgproxy's format_quality).",
            range: 1...100
        )
    }
    public static let jpegQualityParameter = qualityParameter(for: .jpeg, name: "JPEG")
    public static let webpQualityParameter = qualityParameter(for: .webp, name: "WebP")
    public static let avifQualityParameter = qualityParameter(for: .avif, name: "AVIF")
    public static let jxlQualityParameter = qualityParameter(for: .jxl, name: "JPEG XL")
    public static let maxBytesParameter = Parameter<Int>(
        "max_bytes",
        summary:
            "Lower the quality until the result is at most this many bytes, as imgproxy's max_bytes: at most 8 more encodes, never under quality 10 (JPEG, WebP, AVIF, JPEG XL).",
        range: 1...(1 << 30)
    )
    public static let stripParameter = Parameter<Bool>(
        "strip",
        summary: "Drop metadata (EXIF, XMP, ICC after conversion to sRGB).",
        default: true
    )

    public static let bound = [
        formatParameter.bound(to: \Self.format),
        qualityParameter.bound(to: \Self.quality),
        jpegQualityParameter.bound(to: \Self.jpegQuality),
        webpQualityParameter.bound(to: \Self.webpQuality),
        avifQualityParameter.bound(to: \Self.avifQuality),
        jxlQualityParameter.bound(to: \Self.jxlQuality),
        maxBytesParameter.bound(to: \Self.maxBytes),
        stripParameter.bound(to: \Self.strip),
    ]

    public var format = OutputFormat.original
    public var quality = 80
    public var jpegQuality: Int?
    public var webpQuality: Int?
    public var avifQuality: Int?
    public var jxlQuality: Int?
    public var maxBytes: Int?
    public var strip = true

    /// The quality `format` is written at: its own, else `quality`.
    public func quality(for format: OutputFormat) -> Int {
        let own: Int? =
            switch format {
            case .jpeg: jpegQuality
            case .webp: webpQuality
            case .avif: avifQuality
            case .jxl: jxlQuality
            case .png, .gif, .original: nil
            }
        return own ?? quality
    }

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
