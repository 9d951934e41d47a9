/// What an input may be before it is decoded. Checked against the header,
/// so a small file declaring a huge image costs nothing.
public struct ImageLimits: Sendable, Hashable {
    /// Largest width x height accepted (default 50 megapixels).
    public var maxPixels: Int
    /// Largest encoded input accepted (default 64 MiB).
    public var maxBytes: Int

    public init(maxPixels: Int = 50_000_000, maxBytes: Int = 64 << 20) {
        self.maxPixels = maxPixels
        self.maxBytes = maxBytes
    }
}
