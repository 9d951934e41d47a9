/// Converts to one grey band (plus alpha) with libvips' `B_W` weights
/// (0.2 R + 0.7 G + 0.1 B in linear light).
public struct Grayscale: PipelineOperation {
    public static let kind = OperationKind.grayscale
    public static let summary = "Convert to grey (libvips' B_W: 0.2 R + 0.7 G + 0.1 B in linear light); alpha is kept."
    public static let parameters: [ParameterInfo] = []

    public init() {}

    public init(reading parameters: ParameterReader) throws(RecipeError) {}

    public func write(to parameters: inout ParameterWriter) {}

    public var asOperation: Operation { .grayscale(self) }
}
