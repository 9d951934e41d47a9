/// An encoded image to process: its bytes and, for messages, where it came from.
public struct ImageInput: Sendable {
    public var bytes: [UInt8]
    /// A file name or upload name; only used to make errors readable.
    public var name: String?

    public init(bytes: [UInt8], name: String? = nil) {
        self.bytes = bytes
        self.name = name
    }
}
