/// Converts to one grey band (plus alpha) with libvips' `B_W` weights
/// (0.2 R + 0.7 G + 0.1 B in linear light).
public struct Grayscale: PipelineOperation {
    public static let kind = OperationKind.grayscale
    public static let summary = "Convert to grey (libvips' B_W: 0.2 R + 0.7 G + 0.1 B in linear light); alpha is kept."
    public static let bound: [BoundParameter<Self>] = []

    public init() {}
    public static var unread: Self { Self() }

    public var asOperation: Operation { .grayscale(self) }
}
