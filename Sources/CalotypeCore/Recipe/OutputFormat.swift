/// The encoded formats Calotype writes.
public enum OutputFormat: String, StringEnumParameter {
    case jpeg, png, webp, avif, gif, jxl
    /// The input's own format where Calotype can write it; see `SourceFormat.outputFormat`.
    case original

    /// Whether this format writes animations (every other one writes an
    /// animation's first frame).
    public var animates: Bool { self == .gif || self == .webp }

    /// Whether the encoder takes a quality (the lossy ones).
    public var hasQuality: Bool { [.jpeg, .webp, .avif, .jxl].contains(self) }

    /// Every format an encoder writes (all but `original`).
    public static let encoded: [OutputFormat] = allCases.filter { $0 != .original }

    public init?(shorthand: String) {
        let text = shorthand.lowercased()
        self.init(rawValue: text == "jpg" ? "jpeg" : text)
    }

    /// The usual file name extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        case .avif: "avif"
        case .gif: "gif"
        case .jxl: "jxl"
        case .original: "bin"
        }
    }

    /// The MIME type of the encoded bytes.
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .avif: "image/avif"
        case .gif: "image/gif"
        case .jxl: "image/jxl"
        case .original: "application/octet-stream"
        }
    }
}

/// The format an input was decoded from.
public enum SourceFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case jpeg, png, webp, gif, tiff, heif, avif

    /// What `format: original` writes for this input: the same format where
    /// Calotype can write it (a GIF stays a GIF, so that its animation
    /// does), else PNG for TIFF and JPEG for HEIC (whose encoder is
    /// patent-encumbered and often absent).
    public var outputFormat: OutputFormat {
        switch self {
        case .jpeg: .jpeg
        case .png, .tiff: .png
        case .gif: .gif
        case .webp: .webp
        case .avif: .avif
        case .heif: .jpeg
        }
    }

    /// What `format: original` writes when this build cannot write
    /// `outputFormat`: PNG for a GIF or an AVIF (lossless, alpha kept).
    public var fallbackOutputFormat: OutputFormat {
        switch self {
        case .gif, .avif: .png
        default: outputFormat
        }
    }
}
