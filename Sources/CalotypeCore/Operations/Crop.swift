/// Cuts a rectangle out of the image, in the pixels of the image as it is at
/// this step of the pipeline.
///
/// A rectangle that runs past the edge is clamped to the image; one that
/// misses the image entirely is an error (`crop_outside_image`), since there is
/// nothing sensible to return.
public struct Crop: PipelineOperation {
    public static let kind = OperationKind.crop
    public static let summary = "Cut out a rectangle (clamped to the image; an error when it misses the image)."

    public static let xParameter = Parameter<Int>(
        "x", shorthandKey: "crop_x", summary: "Left edge in pixels.", default: 0, range: 0...16383)
    public static let yParameter = Parameter<Int>(
        "y", shorthandKey: "crop_y", summary: "Top edge in pixels.", default: 0, range: 0...16383)
    public static let widthParameter = Parameter<Int>(
        "width", shorthandKey: "crop_width", summary: "Width in pixels.", range: 1...16384)
    public static let heightParameter = Parameter<Int>(
        "height", shorthandKey: "crop_height", summary: "Height in pixels.", range: 1...16384)

    public static let parameters = [xParameter, yParameter, widthParameter, heightParameter].map(\.info)

    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int = 0, y: Int = 0, width: Int, height: Int) throws(RecipeError) {
        self.x = try Self.xParameter.validated(x)
        self.y = try Self.yParameter.validated(y)
        self.width = try Self.widthParameter.validated(width)
        self.height = try Self.heightParameter.validated(height)
    }

    public init(reading parameters: ParameterReader) throws(RecipeError) {
        x = try parameters.value(Self.xParameter)
        y = try parameters.value(Self.yParameter)
        width = try parameters.value(Self.widthParameter)
        height = try parameters.value(Self.heightParameter)
    }

    public func write(to parameters: inout ParameterWriter) {
        parameters.write(Self.xParameter, x)
        parameters.write(Self.yParameter, y)
        parameters.write(Self.widthParameter, width)
        parameters.write(Self.heightParameter, height)
    }

    public var asOperation: Operation { .crop(self) }

    /// The rectangle clamped to an image of `imageWidth` x `imageHeight`, or
    /// `nil` when it lies wholly outside. Every backend crops to this.
    public func clamped(toWidth imageWidth: Int, height imageHeight: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        guard x < imageWidth, y < imageHeight else { return nil }
        return (x, y, min(width, imageWidth - x), min(height, imageHeight - y))
    }
}
