extension SourceFormat {
    /// The format the first bytes announce (their magic numbers), without
    /// decoding: for answers that hand a source on as it is (`GET /img`'s
    /// `raw` and `skip_processing`). Nil for anything else.
    public static func sniff(_ bytes: [UInt8]) -> SourceFormat? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return .tiff }
        if starts(Array("ftyp".utf8), at: 4) {
            if starts(Array("avif".utf8), at: 8) || starts(Array("avis".utf8), at: 8) { return .avif }
            if ["heic", "heix", "mif1", "msf1", "heim", "heis", "hevc"].contains(where: { starts(Array($0.utf8), at: 8) }) { return .heif }
        }
        return nil
    }

    /// The MIME type of the encoded bytes.
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .gif: "image/gif"
        case .tiff: "image/tiff"
        case .heif: "image/heif"
        case .avif: "image/avif"
        }
    }

    /// The extension imgproxy's `skip_processing` names it by.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .tiff: "tiff"
        case .heif: "heic"
        default: rawValue
        }
    }
}
