/// The encoded formats Calotype writes.
public enum OutputFormat: String, StringEnumParameter {
    case jpeg, png, webp, avif
    /// The input's own format where Calotype can write it; see `SourceFormat.outputFormat`.
    case original

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
        case .original: "application/octet-stream"
        }
    }
}

/// The format an input was decoded from.
public enum SourceFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case jpeg, png, webp, gif, tiff, heif, avif

    /// What `format: original` writes for this input: the same format where
    /// Calotype can write it, else PNG for lossless sources (GIF, TIFF) and
    /// JPEG for HEIC (whose encoder is patent-encumbered and often absent).
    public var outputFormat: OutputFormat {
        switch self {
        case .jpeg: .jpeg
        case .png, .gif, .tiff: .png
        case .webp: .webp
        case .avif: .avif
        case .heif: .jpeg
        }
    }
}
