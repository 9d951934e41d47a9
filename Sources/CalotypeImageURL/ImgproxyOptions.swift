import CalotypeCore

/// imgproxy's processing options, the ones that map onto Calotype's
/// operations, read from a `GET /img` path and turned into a recipe. An
/// option Calotype does not have is refused with its name, never ignored:
/// an ignored option would serve the wrong picture under a valid signature.
public struct ImgproxyOptions: Sendable, Equatable {
    public enum ResizingType: String, Sendable {
        /// Within the box, keeping the aspect ratio (Calotype's `inside`).
        case fit
        /// Cover the box and crop the rest (`cover`).
        case fill
        /// Exactly the box, distorting (`fill`).
        case force
        /// `fill` when the image and the box have the same orientation, else `fit`.
        case auto
    }

    /// imgproxy's gravity: a type and its two numbers (offsets for the
    /// compass types, the point for `fp`).
    public struct Gravity: Sendable, Equatable {
        /// `ce`, `no`, `so`, `ea`, `we`, `noea`, `nowe`, `soea`, `sowe`, `sm` or `fp`.
        public var type = "ce"
        public var x = 0.0
        public var y = 0.0

        /// The compass types, by imgproxy's names, as the recipe's gravities.
        static let compass: [String: String] = [
            "ce": "centre", "no": "north", "so": "south", "ea": "east", "we": "west",
            "noea": "north_east", "nowe": "north_west", "soea": "south_east", "sowe": "south_west",
        ]

        /// The recipe's gravity and its numbers for an operation whose
        /// shorthand keys start with `prefix` (`crop_` for crop).
        func fields(prefix: String, gravityKey: String) -> [(key: String, value: String)] {
            if type == "fp" {
                return [(gravityKey, "focus"), ("\(prefix)focus_x", "\(x)"), ("\(prefix)focus_y", "\(y)")]
            }
            if type == "sm" { return [(gravityKey, "attention")] }
            var fields: [(key: String, value: String)] = []
            if let name = Self.compass[type], name != "centre" || x != 0 || y != 0 { fields.append((gravityKey, name)) }
            if x != 0 { fields.append(("\(prefix)offset_x", "\(x)")) }
            if y != 0 { fields.append(("\(prefix)offset_y", "\(y)")) }
            return fields
        }
    }

    public var resizingType = ResizingType.fit
    public var width: Int?
    public var height: Int?
    public var enlarge = false
    public var gravity = Gravity()
    /// `c:width:height[:gravity]`: a region of the image, placed by its
    /// own gravity, or by `gravity` when it names none.
    public var crop: ImageSize?
    public var cropGravity: Gravity?
    public var rotate: Int?
    public var blur: Double?
    public var sharpen: Double?
    public var quality: Int?
    public var format: String?
    public var stripMetadata: Bool?

    public init() {}

    /// Reads `options` in order (a later one overrides an earlier one, as in
    /// imgproxy), expanding presets from `presets` (each a string of options
    /// in the same `name:args/name:args` form).
    public init(_ options: [ImageURL.Option], presets: [String: String] = [:], extensionFormat: String? = nil) throws(ImageURLError) {
        var expanding: Set<String> = []
        try apply(options, presets: presets, expanding: &expanding)
        if format == nil, let extensionFormat { format = extensionFormat }
        if crop != nil, (cropGravity ?? gravity).type == "sm" {
            throw .unsupported("c: a crop is placed by a compass gravity or fp, not sm (smart: for rt:fill)")
        }
    }

    private mutating func apply(_ options: [ImageURL.Option], presets: [String: String], expanding: inout Set<String>) throws(ImageURLError) {
        for option in options {
            let args = option.arguments
            func integer(_ index: Int) throws(ImageURLError) -> Int? {
                guard index < args.count, !args[index].isEmpty else { return nil }
                guard let value = Int(args[index]), value >= 0 else { throw .malformed("\(option.name): '\(args[index])' is not a whole number") }
                return value
            }
            func number(_ index: Int) throws(ImageURLError) -> Double? {
                guard index < args.count, !args[index].isEmpty else { return nil }
                guard let value = Double(args[index]), value >= 0 else { throw .malformed("\(option.name): '\(args[index])' is not a number") }
                return value
            }
            func flag(_ index: Int) throws(ImageURLError) -> Bool? {
                guard index < args.count, !args[index].isEmpty else { return nil }
                switch args[index] {
                case "1", "t", "true": return true
                case "0", "f", "false": return false
                default: throw .malformed("\(option.name): '\(args[index])' is not a boolean (1, t, true, 0, f, false)")
                }
            }
            func noExtend(_ index: Int) throws(ImageURLError) {
                if try flag(index) == true { throw .unsupported("\(option.name): extend is not supported") }
            }
            switch option.name {
            case "resize", "rs":
                if let type = args.first, !type.isEmpty { resizingType = try Self.resizingType(type, option: option.name) }
                try size(integer(1), integer(2))
                if let value = try flag(3) { enlarge = value }
                try noExtend(4)
            case "size", "s":
                try size(integer(0), integer(1))
                if let value = try flag(2) { enlarge = value }
                try noExtend(3)
            case "resizing_type", "rt":
                resizingType = try Self.resizingType(args.first ?? "", option: option.name)
            case "width", "w":
                guard let value = try integer(0) else { throw .malformed("\(option.name) takes a width in pixels (0: follow the height)") }
                try size(value, height, replacingHeight: false)
            case "height", "h":
                guard let value = try integer(0) else { throw .malformed("\(option.name) takes a height in pixels (0: follow the width)") }
                try size(width, value, replacingWidth: false)
            case "enlarge", "el":
                enlarge = try flag(0) ?? false
            case "gravity", "g":
                gravity = try Self.gravity(args[...], option: option.name)
            case "crop", "c":
                guard let cropWidth = try integer(0), let cropHeight = try integer(1), cropWidth > 0, cropHeight > 0 else {
                    throw .malformed("\(option.name) takes a width and a height")
                }
                // Refused, not clamped to the image: no image is larger than a crop may be.
                guard cropWidth <= Self.maxCropSide, cropHeight <= Self.maxCropSide else {
                    throw .malformed("\(option.name): \(cropWidth)x\(cropHeight) is larger than any crop (at most \(Self.maxCropSide) a side)")
                }
                cropGravity = args.count > 2 && !args[2].isEmpty ? try Self.gravity(args[2...], option: option.name) : nil
                crop = ImageSize(width: cropWidth, height: cropHeight)
            case "rotate", "rot":
                guard let angle = try integer(0), [0, 90, 180, 270].contains(angle) else {
                    throw .malformed("\(option.name) takes 0, 90, 180 or 270")
                }
                rotate = angle == 0 ? nil : angle
            case "blur", "bl":
                blur = try number(0).flatMap { $0 == 0 ? nil : $0 }
            case "sharpen", "sh":
                sharpen = try number(0).flatMap { $0 == 0 ? nil : $0 }
            case "quality", "q":
                quality = try integer(0).flatMap { $0 == 0 ? nil : $0 }
            case "format", "f", "ext":
                format = args.first.flatMap { $0.isEmpty ? nil : $0 }
            case "strip_metadata", "sm":
                stripMetadata = try flag(0)
            case "preset", "pr":
                for name in args {
                    guard let preset = presets[name] else { throw .malformed("no preset named '\(name)'") }
                    guard expanding.insert(name).inserted else { throw .malformed("preset '\(name)' includes itself") }
                    let parsed = try ImageURL.options(preset)
                    try apply(parsed, presets: presets, expanding: &expanding)
                    expanding.remove(name)
                }
            default:
                throw .unsupported(
                    "the option '\(option.name)' is not supported (GET /img takes: resize, size, resizing_type, width, height, enlarge, gravity, crop, rotate, blur, sharpen, quality, format, strip_metadata, preset)"
                )
            }
        }
    }

    /// The crop operation's own bound on a side.
    static let maxCropSide = 16384

    private mutating func size(_ newWidth: Int?, _ newHeight: Int?, replacingWidth: Bool = true, replacingHeight: Bool = true) throws(ImageURLError) {
        // 0 means "follow the other side", as in imgproxy.
        if replacingWidth { width = newWidth.flatMap { $0 == 0 ? nil : $0 } }
        if replacingHeight { height = newHeight.flatMap { $0 == 0 ? nil : $0 } }
    }

    private static func resizingType(_ text: String, option: String) throws(ImageURLError) -> ResizingType {
        guard let type = ResizingType(rawValue: text) else {
            throw .unsupported("\(option): resizing type '\(text)' is not supported (fit, fill, force or auto)")
        }
        return type
    }

    /// `type[:x:y]`: a compass type with offsets (pixels from 1 up, else
    /// a fraction of the image), `sm`, or `fp:x:y` (fractions 0...1).
    private static func gravity(_ args: ArraySlice<String>, option: String) throws(ImageURLError) -> Gravity {
        let type = args.first ?? ""
        let numbers = Array(args.dropFirst())
        func number(_ index: Int, in range: ClosedRange<Double>) throws(ImageURLError) -> Double {
            guard index < numbers.count, !numbers[index].isEmpty else { return 0 }
            guard let value = Double(numbers[index]), range.contains(value) else {
                throw .malformed("\(option): '\(numbers[index])' is not a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        switch type {
        case "fp":
            guard numbers.count == 2 else { throw .malformed("\(option): fp takes a point, fp:x:y (fractions 0 to 1)") }
            return Gravity(type: type, x: try number(0, in: 0...1), y: try number(1, in: 0...1))
        case "sm":
            guard numbers.isEmpty else { throw .malformed("\(option): sm takes no offsets") }
            return Gravity(type: type)
        case _ where Gravity.compass[type] != nil:
            guard numbers.count <= 2 else { throw .malformed("\(option): \(type) takes at most two offsets, x and y") }
            return Gravity(type: type, x: try number(0, in: Position.offsetRange), y: try number(1, in: Position.offsetRange))
        default:
            throw .unsupported(
                "\(option): gravity '\(type)' is not supported (ce, no, so, ea, we, noea, nowe, soea, sowe, sm, fp; obj and objw are imgproxy Pro's)"
            )
        }
    }

    /// The recipe. `auto` and the centred crop are operations of the
    /// recipe, resolved against the decoded image in the pipeline (as
    /// imgproxy does), so nothing is read before the job.
    public func recipe() throws(RecipeError) -> Recipe {
        // Fields, not a query string: a value is read as it was written
        // (`1e+308` in a query string reads back as `1e 308`).
        var fields: [(key: String, value: String)] = []
        if let crop {
            fields += [("crop_width", "\(crop.width)"), ("crop_height", "\(crop.height)")]
            let placed = cropGravity ?? gravity
            // imgproxy's crop is centred by default: the recipe's default is at x, y.
            let placing = placed.fields(prefix: "crop_", gravityKey: "crop_gravity")
            fields += placing.isEmpty ? [("crop_gravity", "centre")] : placing
        }
        if let width { fields.append(("width", "\(width)")) }
        if let height { fields.append(("height", "\(height)")) }
        if width != nil || height != nil {
            fields.append(("fit", fit))
            if resizingType == .fill || resizingType == .auto { fields += gravity.fields(prefix: "", gravityKey: "gravity") }
            if enlarge { fields.append(("enlarge", "true")) }
        }
        if let rotate { fields.append(("rotate", "\(rotate)")) }
        if let blur { fields.append(("blur", "\(blur)")) }
        if let sharpen { fields.append(("sharpen", "\(sharpen)")) }
        if let quality { fields.append(("quality", "\(quality)")) }
        if let format { fields.append(("format", format)) }
        if let stripMetadata { fields.append(("strip", "\(stripMetadata)")) }
        return try Recipe(shorthandFields: fields)
    }

    private var fit: String {
        switch resizingType {
        case .fit: "inside"
        case .fill: "cover"
        case .force: "fill"
        case .auto: "auto"
        }
    }
}
