import CalotypeCore

/// imgproxy's processing options, read from a `GET /img` path and turned
/// into a recipe (`recipe()`, in ImgproxyOptions+Recipe.swift). An option
/// Calotype does not have is refused with its name, never ignored: an
/// ignored option would serve the wrong picture under a valid signature.
/// API_REFERENCE.md has the table of every option of imgproxy's
/// open-source edition, served or refused.
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

    public var resizingType = ResizingType.fit
    public var width: Int?
    public var height: Int?
    public var enlarge = false
    public var gravity = ImgproxyGravity()
    /// `c:width:height[:gravity]`: a region of the image, placed by its
    /// own gravity, or by `gravity` when it names none.
    public var crop: ImageSize?
    public var cropGravity: ImgproxyGravity?
    /// `dpr`: multiplies the size, the extended canvas, the padding and
    /// pixel offsets.
    public var dpr = 1.0
    /// `z:x[:y]`: multiplies the size (or, without one, the image).
    public var zoomX = 1.0
    public var zoomY = 1.0
    public var minWidth: Int?
    public var minHeight: Int?
    /// `ex:1[:gravity]`: the result placed on a canvas of the asked size.
    public var extend: ImgproxyGravity?
    /// `exar:1[:gravity]`: the result placed on a canvas of the asked aspect ratio.
    public var extendAspectRatio: ImgproxyGravity?
    /// `pd:top:right:bottom:left`, as CSS writes padding.
    public var padding: Sides?
    /// `bg`: flattens transparency, and fills extended and padded space.
    public var background: Colour?
    /// `t:threshold[:colour[:equal_hor[:equal_ver]]]`.
    public var trim: TrimOptions?

    /// `wm:opacity:position:x:y:scale`.
    public var watermark: WatermarkOptions?

    public struct WatermarkOptions: Sendable, Equatable {
        public var opacity: Double
        /// A compass type, or `re` (replicated).
        public var position: String
        public var x: Double
        public var y: Double
        public var scale: Double
    }

    public struct Sides: Sendable, Equatable {
        public var top, right, bottom, left: Int
    }

    public struct TrimOptions: Sendable, Equatable {
        public var threshold: Double
        public var colour: Colour?
        public var equalHorizontal: Bool
        public var equalVertical: Bool
    }
    public var pixelate: Int?
    public var autoRotate: Bool?
    public var rotate: Int?
    /// `fl:horizontal:vertical`, after the rotation.
    public var flipHorizontal = false
    public var flipVertical = false
    public var blur: Double?
    public var sharpen: Double?
    public var quality: Int?
    /// `fq:format:quality:...`: a format's own quality when `q` is not given.
    public var formatQuality: [String: Int] = [:]
    /// `mb`: the most bytes the answer may have (the quality goes down).
    public var maxBytes: Int?
    public var format: String?
    public var stripMetadata: Bool?
    /// How the answer is delivered rather than what it shows.
    public var delivery = Delivery()

    public struct Delivery: Sendable, Equatable {
        /// `cb`: changes the URL and the entity tag, nothing else.
        public var cacheBuster: String?
        /// `exp`: a Unix time after which the URL is answered 404.
        public var expires: Int?
        /// `fn`: the name in `Content-Disposition` (without its extension).
        public var filename: String?
        /// `att`: `Content-Disposition: attachment` rather than `inline`.
        public var attachment = false
        /// `skp`: source formats (extensions) answered as they are.
        public var skipProcessing: Set<String> = []
        /// `raw`: the source answered as it is, whatever it is.
        public var raw = false
    }

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
            let arguments = ImgproxyArguments(option)
            switch option.name {
            case "resize", "rs":
                if let type = option.arguments.first, !type.isEmpty { resizingType = try Self.resizingType(type, option: option.name) }
                try size(arguments.integer(1), arguments.integer(2))
                if let value = try arguments.flag(3) { enlarge = value }
                extend = try arguments.flag(4) == true ? try ImgproxyGravity(arguments.rest(from: 5), option: option.name, allowsSmart: false) : nil
            case "size", "s":
                try size(arguments.integer(0), arguments.integer(1))
                if let value = try arguments.flag(2) { enlarge = value }
                extend = try arguments.flag(3) == true ? try ImgproxyGravity(arguments.rest(from: 4), option: option.name, allowsSmart: false) : nil
            case "resizing_type", "rt":
                resizingType = try Self.resizingType(option.arguments.first ?? "", option: option.name)
            case "width", "w":
                guard let value = try arguments.integer(0) else { throw .malformed("\(option.name) takes a width in pixels (0: follow the height)") }
                try size(value, height, replacingHeight: false)
            case "height", "h":
                guard let value = try arguments.integer(0) else { throw .malformed("\(option.name) takes a height in pixels (0: follow the width)") }
                try size(width, value, replacingWidth: false)
            case "min-width", "min_width", "mw":
                minWidth = try arguments.integer(0).flatMap { $0 == 0 ? nil : $0 }
            case "min-height", "min_height", "mh":
                minHeight = try arguments.integer(0).flatMap { $0 == 0 ? nil : $0 }
            case "zoom", "z":
                guard let x = try arguments.number(0), x > 0 else { throw .malformed("\(option.name) takes a factor above 0, z:x or z:x:y") }
                let y = try arguments.number(1) ?? x
                guard y > 0, x <= Self.maxZoom, y <= Self.maxZoom else {
                    throw .malformed("\(option.name): factors are above 0 and at most \(Int(Self.maxZoom))")
                }
                (zoomX, zoomY) = (x, y)
            case "dpr":
                guard let value = try arguments.number(0), value > 0, value <= Self.maxDPR else {
                    throw .malformed("dpr takes a device pixel ratio above 0 and at most \(Int(Self.maxDPR))")
                }
                dpr = value
            case "enlarge", "el":
                enlarge = try arguments.flag(0) ?? false
            case "extend", "ex":
                extend = try arguments.flag(0) == true ? try ImgproxyGravity(arguments.rest(from: 1), option: option.name, allowsSmart: false) : nil
            case "extend_aspect_ratio", "extend_ar", "exar":
                extendAspectRatio =
                    try arguments.flag(0) == true ? try ImgproxyGravity(arguments.rest(from: 1), option: option.name, allowsSmart: false) : nil
            case "gravity", "g":
                gravity = try ImgproxyGravity(option.arguments[...], option: option.name)
            case "crop", "c":
                try readCrop(arguments, option: option.name)
            case "trim", "t":
                guard let threshold = try arguments.number(0), threshold <= 255 else {
                    throw .malformed("\(option.name) takes a threshold, 0 to 255")
                }
                trim = TrimOptions(
                    threshold: threshold,
                    colour: try arguments.colour(1),
                    equalHorizontal: try arguments.flag(2) ?? false,
                    equalVertical: try arguments.flag(3) ?? false
                )
            case "padding", "pd":
                try readPadding(arguments, option: option.name)
            case "background", "bg":
                background = try arguments.background()
            case "pixelate", "pix":
                pixelate = try arguments.integer(0).flatMap { $0 <= 1 ? nil : min($0, Self.maxSide) }
            case "auto_rotate", "ar":
                autoRotate = try arguments.flag(0)
            case "enforce_thumbnail", "eth":
                // Only HEIF and AVIF carry thumbnails imgproxy would use; Calotype always decodes the image itself.
                _ = try arguments.flag(0)
            case "rotate", "rot":
                guard let angle = try arguments.integer(0), angle % 90 == 0 else { throw .malformed("\(option.name) takes 0, 90, 180 or 270") }
                rotate = angle % 360 == 0 ? nil : angle % 360
            case "flip", "fl":
                flipHorizontal = try arguments.flag(0) ?? false
                flipVertical = try arguments.flag(1) ?? false
            case "blur", "bl":
                blur = try arguments.number(0).flatMap { $0 == 0 ? nil : $0 }
            case "sharpen", "sh":
                sharpen = try arguments.number(0).flatMap { $0 == 0 ? nil : $0 }
            case "quality", "q":
                quality = try arguments.integer(0).flatMap { $0 == 0 ? nil : $0 }
            case "format_quality", "fq":
                try readFormatQuality(arguments, option: option.name)
            case "max_bytes", "mb":
                maxBytes = try arguments.integer(0).flatMap { $0 == 0 ? nil : min($0, 1 << 30) }
            case "format", "f", "ext":
                format = option.arguments.first.flatMap { $0.isEmpty ? nil : $0 }
            case "strip_metadata", "sm":
                stripMetadata = try arguments.flag(0)
            case "watermark", "wm":
                try readWatermark(arguments, option: option.name)
            case "strip_color_profile", "scp":
                // Calotype converts every image to sRGB and writes no profile: what scp:1 asks.
                guard try arguments.flag(0) != false else {
                    throw .unsupported("\(option.name):0 is not supported: Calotype converts every image to sRGB and keeps no profile")
                }
            case "keep_copyright", "kcr":
                guard try arguments.flag(0) != true else {
                    throw .unsupported(
                        "\(option.name):1 is not supported: stripping metadata drops the copyright too (send kcr:0, or sm:0 to keep all)"
                    )
                }
            case "cachebuster", "cb":
                delivery.cacheBuster = option.arguments.first.flatMap { $0.isEmpty ? nil : $0 }
            case "expires", "exp":
                guard let time = try arguments.integer(0) else { throw .malformed("\(option.name) takes a Unix time in seconds") }
                delivery.expires = time == 0 ? nil : time
            case "filename", "fn":
                delivery.filename = try Self.filename(arguments, option: option.name)
            case "return_attachment", "att":
                delivery.attachment = try arguments.flag(0) ?? false
            case "skip_processing", "skp":
                delivery.skipProcessing = Set(option.arguments.filter { !$0.isEmpty }.map { $0.lowercased() == "jpeg" ? "jpg" : $0.lowercased() })
            case "raw":
                delivery.raw = try arguments.flag(0) ?? false
            case "max_src_resolution", "msr", "max_src_file_size", "msfs", "max_animation_frames", "maf", "max_animation_frame_resolution", "mafr",
                "max_result_dimension", "mrd":
                throw .unsupported(
                    "the option '\(option.name)' is not supported: a URL cannot change Calotype's limits (CALOTYPE_MAX_MEGAPIXELS, CALOTYPE_MAX_ANIMATION_FRAMES, ... are the server's)"
                )
            case "preset", "pr":
                for name in option.arguments {
                    guard let preset = presets[name] else { throw .malformed("no preset named '\(name)'") }
                    guard expanding.insert(name).inserted else { throw .malformed("preset '\(name)' includes itself") }
                    let parsed = try ImageURL.options(preset)
                    try apply(parsed, presets: presets, expanding: &expanding)
                    expanding.remove(name)
                }
            default:
                throw .unsupported(
                    "the option '\(option.name)' is not supported (API_REFERENCE.md lists every option of imgproxy's open-source edition and what GET /img does with it)"
                )
            }
        }
    }

    /// The operations' own bound on a side.
    static let maxSide = 16384
    static let maxCropSide = maxSide
    /// imgproxy takes device pixel ratios up to 8 from client hints.
    static let maxDPR = 8.0
    /// The recipe's largest scale.
    static let maxZoom = 16.0

    private mutating func readCrop(_ arguments: ImgproxyArguments, option: String) throws(ImageURLError) {
        guard let cropWidth = try arguments.integer(0), let cropHeight = try arguments.integer(1), cropWidth > 0, cropHeight > 0 else {
            throw .malformed("\(option) takes a width and a height in pixels")
        }
        // Refused, not clamped to the image: no image is larger than a crop may be.
        guard cropWidth <= Self.maxCropSide, cropHeight <= Self.maxCropSide else {
            throw .malformed("\(option): \(cropWidth)x\(cropHeight) is larger than any crop (at most \(Self.maxCropSide) a side)")
        }
        let own = arguments.rest(from: 2)
        cropGravity = own.first.map { !$0.isEmpty } == true ? try ImgproxyGravity(own, option: option) : nil
        crop = ImageSize(width: cropWidth, height: cropHeight)
    }

    /// `wm:opacity:position:x:y:scale`; opacity 0 (or none) is no watermark.
    private mutating func readWatermark(_ arguments: ImgproxyArguments, option: String) throws(ImageURLError) {
        guard let opacity = try arguments.number(0), opacity > 0 else {
            watermark = nil
            return
        }
        guard opacity <= 1 else { throw .malformed("\(option): the opacity is 0 to 1") }
        let position = arguments.values.count > 1 && !arguments.values[1].isEmpty ? arguments.values[1] : "ce"
        guard position == "re" || ImgproxyGravity.compass[position] != nil else {
            throw .unsupported(
                "\(option): position '\(position)' is not supported (ce, no, so, ea, we, noea, nowe, soea, sowe, re; ch is imgproxy Pro's)"
            )
        }
        let offsets = try ImgproxyGravity((["ce"] + Array(arguments.rest(from: 2).prefix(2)))[...], option: option)
        let scale = try arguments.number(4) ?? 0
        watermark = WatermarkOptions(opacity: opacity, position: position, x: offsets.x, y: offsets.y, scale: scale)
    }

    /// `fq:format:quality:...`, pairs of an extension and a quality.
    private mutating func readFormatQuality(_ arguments: ImgproxyArguments, option: String) throws(ImageURLError) {
        guard arguments.count % 2 == 0 else { throw .malformed("\(option) takes pairs, format:quality") }
        for index in stride(from: 0, to: arguments.count, by: 2) {
            let name = arguments.values[index] == "jpg" ? "jpeg" : arguments.values[index]
            guard let format = OutputFormat(rawValue: name), format.hasQuality else {
                throw .unsupported("\(option): '\(arguments.values[index])' has no quality here (jpg, webp, avif, jxl)")
            }
            guard let quality = try arguments.integer(index + 1), quality <= 100 else { throw .malformed("\(option): a quality is 0 to 100") }
            formatQuality[format.rawValue] = quality == 0 ? nil : quality
        }
    }

    /// `fn:name[:encoded]`: the name as text, or base64url when `encoded`;
    /// letters, digits and a few marks only, so that the header it goes
    /// into never needs escaping.
    private static func filename(_ arguments: ImgproxyArguments, option: String) throws(ImageURLError) -> String? {
        guard let text = arguments.values.first, !text.isEmpty else { return nil }
        var name = text
        if try arguments.flag(1) == true {
            guard let bytes = URLSigningKeys.base64URLDecode(text), let decoded = String(bytes: bytes, encoding: .utf8) else {
                throw .malformed("\(option): '\(text)' is not base64url")
            }
            name = decoded
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._- ()")
        guard name.count <= 200, name.allSatisfy(allowed.contains), name.contains(where: { $0 != "." && $0 != " " }) else {
            throw .malformed("\(option): a file name is 1 to 200 letters, digits, spaces and . _ - ( )")
        }
        return name
    }

    /// One to four sides, as CSS: all; vertical and horizontal; top,
    /// horizontal and bottom; top, right, bottom, left. An empty one keeps
    /// what the earlier ones gave it (`pd:10::0`: 10 on the sides).
    private mutating func readPadding(_ arguments: ImgproxyArguments, option: String) throws(ImageURLError) {
        guard (1...4).contains(arguments.count) else { throw .malformed("\(option) takes one to four sides, as CSS") }
        var sides = Sides(top: 0, right: 0, bottom: 0, left: 0)
        func side(_ index: Int) throws(ImageURLError) -> Int? {
            guard let value = try arguments.integer(index) else { return nil }
            guard value <= Self.maxSide else { throw .malformed("\(option): \(value) is more than any side may be (\(Self.maxSide))") }
            return value
        }
        if let top = try side(0) { sides = Sides(top: top, right: top, bottom: top, left: top) }
        if let right = try side(1) { (sides.right, sides.left) = (right, right) }
        if let bottom = try side(2) { sides.bottom = bottom }
        if let left = try side(3) { sides.left = left }
        padding = sides == Sides(top: 0, right: 0, bottom: 0, left: 0) ? nil : sides
    }

    private mutating func size(_ newWidth: Int?, _ newHeight: Int?, replacingWidth: Bool = true, replacingHeight: Bool = true) throws(ImageURLError) {
        // 0 means "follow the other side", as in imgproxy.
        if replacingWidth { width = newWidth.flatMap { $0 == 0 ? nil : $0 } }
        if replacingHeight { height = newHeight.flatMap { $0 == 0 ? nil : $0 } }
    }

    private static func resizingType(_ text: String, option: String) throws(ImageURLError) -> ResizingType {
        guard let type = ResizingType(rawValue: text) else {
            throw .unsupported("\(option): resizing type '\(text)' is not supported (fit, fill, force or auto; fill-down is not)")
        }
        return type
    }
}
