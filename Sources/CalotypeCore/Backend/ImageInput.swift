/// An encoded image to process: its bytes and, for messages, where it came from.
public struct ImageInput: Sendable {
    /// Read in place by the backends (an upload's part where the body
    /// arrived), never copied.
    public var bytes: EncodedBytes
    /// A file name or upload name; only used to make errors readable.
    public var name: String?

    public init(bytes: EncodedBytes, name: String? = nil) {
        self.bytes = bytes
        self.name = name
    }

    public init(bytes: [UInt8], name: String? = nil) {
        self.init(bytes: EncodedBytes(bytes), name: name)
    }
}
