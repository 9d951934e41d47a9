/// One step of a pipeline: a value type that declares its parameters once,
/// each bound to the property that holds it, and is understood by every
/// backend, both recipe spellings and the docs.
///
/// To add an operation: write its type in `Operations/`, add it to
/// `OperationKind` and `Operation`, and teach the libvips backend to run it
/// (the GPU takes only what `OpenCLOperations.ported` lists). See "Where to
/// add" in docs/ARCHITECTURE.md.
public protocol PipelineOperation: ParameterBound, Hashable, Sendable {
    static var kind: OperationKind { get }
    /// One line for `--help` and the API docs.
    static var summary: String { get }
    /// The declared parameters, in the order the docs list them.
    static var parameters: [ParameterInfo] { get }
    /// Groups of parameters of which at least one group must be given in
    /// full (`resize`: width or height). Parameters without a default that
    /// appear in no group, and are not held in an optional, are required.
    static var requiresAnyOf: [[String]] { get }

    /// Reads and validates the operation from either recipe spelling.
    init(reading parameters: ParameterReader) throws(RecipeError)
    /// Writes the operation's non-default parameters.
    func write(to parameters: inout ParameterWriter)
    /// Wraps the value in the `Operation` enumeration.
    var asOperation: Operation { get }
}

extension PipelineOperation {
    public static var name: String { kind.rawValue }
    public static var requiresAnyOf: [[String]] { [] }
}

/// The operations Calotype knows, in the order the flat shorthand applies
/// them (imgproxy's order: trim first; extend, padding and the background
/// after the filters).
public enum OperationKind: String, CaseIterable, Codable, Sendable, Comparable {
    case trim, crop, resize, rotate, flip, blur, sharpen, pixelate, adjust, grayscale, extend, padding, flatten, watermark

    public var type: any PipelineOperation.Type {
        switch self {
        case .trim: Trim.self
        case .crop: Crop.self
        case .resize: Resize.self
        case .rotate: Rotate.self
        case .flip: Flip.self
        case .blur: Blur.self
        case .sharpen: Sharpen.self
        case .pixelate: Pixelate.self
        case .adjust: Adjust.self
        case .grayscale: Grayscale.self
        case .extend: Extend.self
        case .padding: Padding.self
        case .flatten: Flatten.self
        case .watermark: Watermark.self
        }
    }

    /// Shorthand order.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}

/// One operation of a recipe, whichever it is. Backends switch over it, so
/// the compiler points at every backend when an operation is added.
public enum Operation: Hashable, Sendable {
    case trim(Trim)
    case crop(Crop)
    case resize(Resize)
    case rotate(Rotate)
    case flip(Flip)
    case blur(Blur)
    case sharpen(Sharpen)
    case pixelate(Pixelate)
    case adjust(Adjust)
    case grayscale(Grayscale)
    case extend(Extend)
    case padding(Padding)
    case flatten(Flatten)
    case watermark(Watermark)

    /// The wrapped value, for code that treats operations alike.
    public var value: any PipelineOperation {
        switch self {
        case .trim(let op): op
        case .crop(let op): op
        case .resize(let op): op
        case .rotate(let op): op
        case .flip(let op): op
        case .blur(let op): op
        case .sharpen(let op): op
        case .pixelate(let op): op
        case .adjust(let op): op
        case .grayscale(let op): op
        case .extend(let op): op
        case .padding(let op): op
        case .flatten(let op): op
        case .watermark(let op): op
        }
    }

    public var kind: OperationKind { type(of: value).kind }
}
