/// The server's watermark (`CALOTYPE_WATERMARK_PATH`): the encoded bytes
/// the composition root read at start, which the backends decode once.
public struct WatermarkImage: Sendable, Hashable {
    public let bytes: [UInt8]
    /// Where it came from, for messages.
    public let name: String

    public init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    /// The largest watermark file read (a watermark is a small picture).
    public static let maxBytes = 8 << 20
}
