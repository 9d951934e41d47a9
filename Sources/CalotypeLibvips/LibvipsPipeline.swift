import CVips
import CalotypeCore

/// One job through libvips, start to finish, on the calling thread (which
/// must be a thread that may block).
///
/// libvips builds a lazy graph and computes pixels only when the result is
/// written, streaming rows from the decoder to the encoder. The pipeline keeps
/// that streaming wherever it can: a leading `resize` is fused with decoding
/// (shrink-on-load), and the image is rendered to memory only before an
/// operation that reads out of order (rotation, vertical flip).
package struct LibvipsPipeline {
    let recipe: Recipe
    let source: LibvipsSource
    let killSwitch: KillSwitch
    let limits: ImageLimits
    /// The server's watermark, for `watermark` (nil: none configured).
    let watermark: LibvipsWatermark?
    private var image: VipsImageHandle
    /// Whether `image` still streams from a sequential decoder.
    private var streamed = true
    /// Whether an area operation (blur, sharpen) lies in the lazy graph
    /// between `image` and the last render to memory (or the decoder).
    private var areaOperationPending = false

    /// Runs `recipe` on the encoded bytes in `buffer`.
    package static func run(
        _ buffer: UnsafeRawBufferPointer,
        name: String?,
        recipe: Recipe,
        limits: ImageLimits,
        writableFormats: Set<OutputFormat>,
        backend: String,
        threads: Int? = nil,
        killSwitch: KillSwitch = KillSwitch(),
        watermark: LibvipsWatermark? = nil
    ) throws(ProcessingError) -> ProcessedImage {
        try killSwitch.check()
        let clock = ContinuousClock()
        let start = clock.now
        let (source, format, frames) = try LibvipsSource.open(buffer, name: name, limits: limits, recipe: recipe, writableFormats: writableFormats)
        if frames > 1 {
            return try LibvipsAnimation.run(
                source,
                frames: frames,
                format: format,
                recipe: recipe,
                limits: limits,
                backend: backend,
                threads: threads,
                killSwitch: killSwitch,
                watermark: watermark,
                started: start
            )
        }

        var pipeline = try LibvipsPipeline(recipe: recipe, source: source, killSwitch: killSwitch, limits: limits, watermark: watermark)
        let opened = clock.now
        try pipeline.applyRemainingOperations()
        let built = clock.now
        try killSwitch.check()
        let bytes = try pipeline.encode(as: format, threads: threads, killSwitch: killSwitch)
        let finished = clock.now

        return ProcessedImage(
            bytes: bytes,
            format: format,
            width: pipeline.image.width,
            height: pipeline.image.height,
            sourceFormat: source.format,
            backend: backend,
            timings: StageTimings(decode: opened - start, process: built - opened, encode: finished - built)
        )
    }

    private var remaining: ArraySlice<Operation>

    /// One decoded frame of an animation through the whole recipe (a
    /// leading resize too: the frame is decoded already, so there is no
    /// shrink-on-load), lazily: the pixels are computed when the joined
    /// animation is written.
    static func processFrame(
        _ frame: VipsImageHandle,
        of source: LibvipsSource,
        recipe: Recipe,
        limits: ImageLimits,
        killSwitch: KillSwitch,
        watermark: LibvipsWatermark?
    ) throws(ProcessingError) -> VipsImageHandle {
        var pipeline = LibvipsPipeline(recipe: recipe, source: source, frame: frame, killSwitch: killSwitch, limits: limits, watermark: watermark)
        try pipeline.normaliseColour()
        try pipeline.applyRemainingOperations()
        return pipeline.image
    }

    private init(
        recipe: Recipe,
        source: LibvipsSource,
        frame: VipsImageHandle,
        killSwitch: KillSwitch,
        limits: ImageLimits,
        watermark: LibvipsWatermark?
    ) {
        self.recipe = recipe
        self.source = source
        self.killSwitch = killSwitch
        self.limits = limits
        self.watermark = watermark
        remaining = recipe.operations[...]
        image = frame
        // In memory already (the strip was rendered whole).
        streamed = false
    }

    // MARK: Loading

    private init(
        recipe: Recipe,
        source: LibvipsSource,
        killSwitch: KillSwitch,
        limits: ImageLimits,
        watermark: LibvipsWatermark?
    )
        throws(ProcessingError)
    {
        self.recipe = recipe
        self.source = source
        self.killSwitch = killSwitch
        self.limits = limits
        self.watermark = watermark
        remaining = recipe.operations[...]
        if case .resize(let asked)? = remaining.first {
            // Shrink-on-load: decode straight to (about) the target size.
            remaining = remaining.dropFirst()
            let display = source.displaySize(autorotate: recipe.autorotate)
            let resize = asked.resolved(forWidth: display.width, height: display.height)
            let planned = ResizePlan(resize, imageWidth: display.width, imageHeight: display.height)
            let sizes = planned.plannedSizes(imageWidth: display.width, imageHeight: display.height)
            for size in sizes {
                try limits.checkPlanned(width: size.width, height: size.height, stage: "resize")
            }
            if resize.effectiveFit == .cover, let position = resize.position, position != .centre {
                // Placed by a compass point or a focus point: scaled whole
                // (shrink-on-load still), then cut where the image is shown
                // the right way up, never in its stored orientation.
                var whole = resize
                (whole.fit, whole.width, whole.height) = (.fill, sizes[0].width, sizes[0].height)
                (whole.gravity, whole.offsetX, whole.offsetY, whole.focusX, whole.focusY) = (.centre, 0, 0, 0.5, 0.5)
                image = try Self.loadResized(source, resize: whole, autorotate: recipe.autorotate, killSwitch: killSwitch)
                try normaliseColour()
                image = try Self.cut(image, planned, at: position)
            } else {
                image = try Self.loadResized(source, resize: resize, autorotate: recipe.autorotate, killSwitch: killSwitch)
                try normaliseColour()
                try pad(ResizePlan(resize, imageWidth: image.width, imageHeight: image.height), with: resize.background)
            }
        } else {
            let orientationApplies = recipe.autorotate && source.header.orientation != 1
            let needsRandomAccess = orientationApplies || remaining.contains(where: Self.readsOutOfOrder)
            image = try source.open(access: needsRandomAccess ? VIPS_ACCESS_RANDOM : VIPS_ACCESS_SEQUENTIAL)
            streamed = !needsRandomAccess
            if orientationApplies {
                image = try image.apply("auto-orientation") { cv_autorot($0, $1) }
            }
            try normaliseColour()
        }
    }

    /// Decodes with the decoder's own shrinking, then finishes the resize.
    ///
    /// By default that is `vips_thumbnail_buffer`, which leaves a factor of
    /// two or more for the Lanczos step (50 dB against a full Lanczos
    /// reference). With `fast_shrink`, JPEG and WebP decoders shrink by the
    /// largest power of two that still leaves the target size (about 40 dB,
    /// invisible under JPEG Q 80) and Lanczos does the rest.
    private static func loadResized(
        _ source: LibvipsSource,
        resize: Resize,
        autorotate: Bool,
        killSwitch: KillSwitch
    ) throws(ProcessingError) -> VipsImageHandle {
        let display = source.displaySize(autorotate: autorotate)
        let plan = ResizePlan(resize, imageWidth: display.width, imageHeight: display.height)
        let decoderShrinks = resize.fastShrink && (source.format == .jpeg || source.format == .webp)
        let shrink = decoderShrinks ? plan.fastDecoderShrink : 1
        // A scale or a minimum size is computed by the plan alone (not by
        // vips_thumbnail's box): decoded, then the Lanczos steps, as here.
        if shrink > 1 || resize.scalesBeyondTheBox {
            let options = shrink == 1 ? "" : source.format == .jpeg ? "shrink=\(shrink)" : "scale=\(1 / Double(shrink))"
            let decoded = try source.open(access: VIPS_ACCESS_SEQUENTIAL, options: options)
            // Resize in the stored orientation (the box turned to match), then
            // orient the small result, as vips_thumbnail does.
            let swaps = autorotate && source.header.orientationSwapsAxes
            var stored = resize
            if swaps {
                (stored.width, stored.height) = (resize.height, resize.width)
                (stored.minWidth, stored.minHeight) = (resize.minHeight, resize.minWidth)
            }
            // A scale is the whole image's: what is left after the decoder's shrink.
            if let scale = resize.scale { stored.scale = scale * Double(source.header.width) / Double(max(decoded.width, 1)) }
            var image = try lanczos(
                decoded,
                ResizePlan(stored, imageWidth: decoded.width, imageHeight: decoded.height),
                resize: resize,
                killSwitch: killSwitch
            )
            if autorotate && source.header.orientation != 1 {
                image = try image.copiedToMemory(killSwitch: killSwitch).apply("auto-orientation") { cv_autorot($0, $1) }
            }
            return image
        }
        return try thumbnail(source, resize: resize, plan: plan, display: display, autorotate: autorotate)
    }

    private static func thumbnail(
        _ source: LibvipsSource,
        resize: Resize,
        plan: ResizePlan,
        display: (width: Int, height: Int),
        autorotate: Bool
    ) throws(ProcessingError) -> VipsImageHandle {
        let unbounded = Int(VIPS_MAX_COORD)
        var width = resize.width ?? unbounded
        var height = resize.height ?? unbounded
        var size = resize.enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN
        var crop = VIPS_INTERESTING_NONE
        switch resize.effectiveFit {
        case .inside, .contain, .auto:  // `auto` was resolved against the image before
            break
        case .cover:
            crop = interesting(resize.gravity)
        case .fill:
            size = VIPS_SIZE_FORCE
            if !resize.enlarge {
                width = min(width, display.width)
                height = min(height, display.height)
            }
        }
        var output: UnsafeMutablePointer<VipsImage>?
        let status = cv_thumbnail_buffer(
            UnsafeMutableRawPointer(mutating: source.buffer.baseAddress),
            source.buffer.count,
            &output,
            Int32(width),
            Int32(height),
            size,
            crop,
            autorotate ? 0 : 1,
            nil,
            source.loaderOptions
        )
        guard status == 0, let output else {
            throw ProcessingError(.corrupt, "decoding the \(source.format.rawValue) image failed", detail: LibvipsError.take())
        }
        return VipsImageHandle(owning: output)
    }

    // MARK: Operations

    private mutating func applyRemainingOperations() throws(ProcessingError) {
        while let operation = remaining.popFirst() {
            try apply(operation)
            // Lazy: nothing of an oversized image has been computed yet.
            try limits.checkPlanned(width: image.width, height: image.height, stage: operation.kind.rawValue)
        }
    }

    private mutating func apply(_ operation: Operation) throws(ProcessingError) {
        switch operation {
        case .crop(let crop):
            guard let area = crop.clamped(toWidth: image.width, height: image.height) else {
                throw ProcessingError(
                    .invalidForImage,
                    "crop at \(crop.x),\(crop.y) lies outside the \(image.width)x\(image.height) image"
                )
            }
            image = try image.apply("crop") { cv_extract_area($0, $1, Int32(area.x), Int32(area.y), Int32(area.width), Int32(area.height)) }
        case .resize(let asked):
            let resize = asked.resolved(forWidth: image.width, height: image.height)
            let plan = ResizePlan(resize, imageWidth: image.width, imageHeight: image.height)
            image = try Self.lanczos(image, plan, resize: resize, killSwitch: killSwitch)
            try pad(plan, with: resize.background)
        case .rotate(let rotate):
            try renderToMemory()
            let angle =
                switch rotate.angle {
                case 90: VIPS_ANGLE_D90
                case 180: VIPS_ANGLE_D180
                default: VIPS_ANGLE_D270
                }
            image = try image.apply("rotate") { cv_rot($0, $1, angle) }
        case .flip(let flip):
            if flip.direction == .vertical { try renderToMemory() }
            let direction = flip.direction == .horizontal ? VIPS_DIRECTION_HORIZONTAL : VIPS_DIRECTION_VERTICAL
            image = try image.apply("flip") { cv_flip($0, $1, direction) }
        case .blur(let blur):
            try stageBeforeAreaOperation()
            image = try image.apply("blur") { cv_gaussblur($0, $1, blur.sigma) }
        case .sharpen(let sharpen):
            try stageBeforeAreaOperation()
            image = try image.apply("sharpen") { cv_sharpen($0, $1, sharpen.sigma) }
            try normaliseColour()
        case .pixelate(let pixelate):
            try stageBeforeAreaOperation()
            image = try image.apply("pixelate") { cv_pixelate($0, $1, Int32(pixelate.size)) }
        case .adjust(let adjust):
            let lut = try lookupTableImage(adjust.lookupTable, bands: image.bands, alpha: image.hasAlpha)
            image = try image.apply("adjust") { cv_maplut($0, $1, lut.pointer) }
        case .grayscale:
            image = try image.apply("grayscale") { cv_colourspace($0, $1, VIPS_INTERPRETATION_B_W) }
        case .trim(let trim):
            try self.trim(trim)
        case .extend(let extend):
            let canvas = extend.canvas(forWidth: image.width, height: image.height)
            let origin = extend.position.origin(
                innerWidth: image.width,
                innerHeight: image.height,
                outerWidth: canvas.width,
                outerHeight: canvas.height
            )
            try embed(at: origin, canvas: canvas, in: extend.background, stage: "extend")
        case .padding(let padding):
            let canvas = (width: image.width + padding.left + padding.right, height: image.height + padding.top + padding.bottom)
            try limits.checkPlanned(width: canvas.width, height: canvas.height, stage: "padding")
            try embed(at: (padding.left, padding.top), canvas: canvas, in: padding.background, stage: "padding")
        case .watermark(let mark):
            try lay(mark)
        case .flatten(let flatten):
            guard image.hasAlpha else { return }
            let colour = Self.bandValues(of: flatten.background, bands: image.bands - 1, alpha: false)
            image = try image.apply("flatten") { input, output in
                colour.withUnsafeBufferPointer { cv_flatten(input, output, $0.baseAddress, Int32($0.count)) }
            }
        }
    }

    /// The image at `origin` on a `canvas` of `colour` (alpha added when
    /// the colour is see-through and the image has none).
    private mutating func embed(
        at origin: (x: Int, y: Int),
        canvas: (width: Int, height: Int),
        in colour: Colour,
        stage: String
    )
        throws(ProcessingError)
    {
        guard canvas.width != image.width || canvas.height != image.height else { return }
        try limits.checkPlanned(width: canvas.width, height: canvas.height, stage: stage)
        if colour.alpha < 255 && !image.hasAlpha {
            image = try image.apply("add alpha") { cv_add_alpha($0, $1) }
        }
        let background = Self.bandValues(of: colour, bands: image.bands, alpha: image.hasAlpha)
        image = try image.apply(stage) { input, output in
            background.withUnsafeBufferPointer {
                cv_embed(input, output, Int32(origin.x), Int32(origin.y), Int32(canvas.width), Int32(canvas.height), $0.baseAddress, Int32($0.count))
            }
        }
    }

    /// Lays the server's watermark over the image as `mark` says; an image
    /// without alpha stays without it.
    private mutating func lay(_ mark: Watermark) throws(ProcessingError) {
        guard let watermark else {
            throw ProcessingError(.invalidRecipe, "watermark: this server has no watermark image (CALOTYPE_WATERMARK_PATH names one)")
        }
        var overlay = try watermark.prepared(for: mark, width: image.width, height: image.height)
        var origin = (x: 0, y: 0)
        if mark.place == .replicate {
            // One tile: the watermark with half the space between tiles
            // around it, repeated over the image and cut to it.
            let margin = mark.tileMargins(imageWidth: image.width, imageHeight: image.height)
            let (tileWidth, tileHeight) = (overlay.width + 2 * margin.x, overlay.height + 2 * margin.y)
            try limits.checkPlanned(width: tileWidth, height: tileHeight, stage: "watermark")
            let clear: [Double] = [0, 0, 0, 0]
            overlay = try overlay.apply("watermark tile") { input, output in
                clear.withUnsafeBufferPointer {
                    cv_embed(input, output, Int32(margin.x), Int32(margin.y), Int32(tileWidth), Int32(tileHeight), $0.baseAddress, Int32($0.count))
                }
            }
            let (across, down) = ((image.width + tileWidth - 1) / tileWidth, (image.height + tileHeight - 1) / tileHeight)
            overlay = try overlay.apply("watermark tiles") { cv_replicate($0, $1, Int32(across), Int32(down)) }
            let (width, height) = (image.width, image.height)
            overlay = try overlay.apply("watermark tiles") { cv_extract_area($0, $1, 0, 0, Int32(width), Int32(height)) }
        } else {
            origin = mark.origin(width: overlay.width, height: overlay.height, imageWidth: image.width, imageHeight: image.height)
        }
        let hadAlpha = image.hasAlpha
        let colourBands = hadAlpha ? image.bands - 1 : image.bands
        let composited = try image.apply("watermark") { [overlay] in cv_composite_over($0, overlay.pointer, $1, Int32(origin.x), Int32(origin.y)) }
        image = composited
        if !hadAlpha {
            // Composited in sRGB: grey comes back as three bands; the alpha goes.
            let keep = colourBands < 3 ? 3 : colourBands
            image = try image.apply("watermark bands") { cv_extract_bands($0, $1, 0, Int32(keep)) }
        }
    }

    /// Cuts away the border `trim` finds: libvips reads the whole image to
    /// find it, so it is rendered first.
    private mutating func trim(_ trim: Trim) throws(ProcessingError) {
        // find_trim smooths with a 3x3 median first, which a smaller image
        // cannot hold ("rank: window too large"); it has no border to cut.
        guard image.width >= 3, image.height >= 3 else { return }
        try renderToMemory()
        let colourBands = image.hasAlpha ? image.bands - 1 : image.bands
        var background: [Double]
        if let colour = trim.colour {
            background = Self.bandValues(of: colour, bands: colourBands, alpha: false)
        } else {
            background = [Double](repeating: 0, count: 4)
            let bands = background.withUnsafeMutableBufferPointer { cv_getpoint(image.pointer, 0, 0, $0.baseAddress, Int32($0.count)) }
            guard bands > 0 else { throw ProcessingError(.internal, "reading the trim colour failed", detail: LibvipsError.take()) }
            background = Array(background.prefix(min(Int(bands), colourBands)))
        }
        var (left, top, width, height): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        let status = background.withUnsafeBufferPointer {
            cv_find_trim(image.pointer, trim.threshold, $0.baseAddress, Int32($0.count), &left, &top, &width, &height)
        }
        guard status == 0 else { throw ProcessingError(.internal, "finding the trim failed", detail: LibvipsError.take()) }
        // All border: nothing to keep but the image itself, as imgproxy does.
        guard width > 0, height > 0 else { return }
        let kept = trim.kept(found: (Int(left), Int(top), Int(width), Int(height)), imageWidth: image.width, imageHeight: image.height)
        guard kept.width > 0, kept.height > 0, kept.width != image.width || kept.height != image.height else { return }
        image = try image.apply("trim") { cv_extract_area($0, $1, Int32(kept.x), Int32(kept.y), Int32(kept.width), Int32(kept.height)) }
    }

    /// Whether an operation needs the whole image in memory to run.
    private static func readsOutOfOrder(_ operation: Operation) -> Bool {
        switch operation {
        case .rotate, .trim: true
        case .flip(let flip): flip.direction == .vertical
        default: false
        }
    }

    private mutating func renderToMemory() throws(ProcessingError) {
        guard streamed else { return }
        image = try image.copiedToMemory(killSwitch: killSwitch)
        streamed = false
        areaOperationPending = false
    }

    /// Renders to memory when an area operation is already pending, so that
    /// the lazy graph never stacks two of them. Each strip libvips computes
    /// through stacked area operations needs a band of rows from the one below
    /// that grows with every level (16 blurs of sigma 100: nearly the whole
    /// image), and the kill flag is seen only between strips; libvips also
    /// tears a deep graph down recursively. One area operation per render
    /// bounds both. Recipes with one blur or sharpen are unchanged.
    private mutating func stageBeforeAreaOperation() throws(ProcessingError) {
        if areaOperationPending {
            image = try image.copiedToMemory(killSwitch: killSwitch)
            streamed = false
        }
        areaOperationPending = true
    }

    /// Lanczos3 to the plan's scale, then `cover`'s crop.
    private static func lanczos(
        _ image: VipsImageHandle,
        _ plan: ResizePlan,
        resize: Resize,
        killSwitch: KillSwitch
    ) throws(ProcessingError) -> VipsImageHandle {
        var result = image
        if plan.horizontalScale != 1 || plan.verticalScale != 1 {
            result = try LibvipsResize.resize(result, horizontalScale: plan.horizontalScale, verticalScale: plan.verticalScale)
        }
        if let position = resize.position, position != .centre {
            return try cut(result, plan, at: position)
        }
        let gravity = resize.gravity
        if let cropWidth = plan.cropWidth, let cropHeight = plan.cropHeight,
            result.width > cropWidth || result.height > cropHeight
        {
            let width = min(cropWidth, result.width)
            let height = min(cropHeight, result.height)
            if gravity != .centre {
                // attention and entropy analyse the whole image before cutting.
                result = try result.copiedToMemory(killSwitch: killSwitch)
            }
            result = try result.apply("cover crop") { cv_smartcrop($0, $1, Int32(width), Int32(height), interesting(gravity)) }
        }
        return result
    }

    /// `cover`'s box cut from the scaled image at a compass or focus point.
    private static func cut(_ image: VipsImageHandle, _ plan: ResizePlan, at position: Position) throws(ProcessingError) -> VipsImageHandle {
        guard let cropWidth = plan.cropWidth, let cropHeight = plan.cropHeight,
            image.width > cropWidth || image.height > cropHeight
        else { return image }
        let (width, height) = (min(cropWidth, image.width), min(cropHeight, image.height))
        let origin = position.origin(innerWidth: width, innerHeight: height, outerWidth: image.width, outerHeight: image.height)
        return try image.apply("cover crop") { cv_extract_area($0, $1, Int32(origin.x), Int32(origin.y), Int32(width), Int32(height)) }
    }

    /// `contain`'s padding: centre the image on the box in the background colour.
    private mutating func pad(_ plan: ResizePlan, with colour: Colour) throws(ProcessingError) {
        guard let canvasWidth = plan.canvasWidth, let canvasHeight = plan.canvasHeight,
            image.width != canvasWidth || image.height != canvasHeight
        else { return }
        if colour.alpha < 255 && !image.hasAlpha {
            image = try image.apply("add alpha") { cv_add_alpha($0, $1) }
        }
        let background = Self.bandValues(of: colour, bands: image.bands, alpha: image.hasAlpha)
        image = try image.apply("contain padding") { input, output in
            background.withUnsafeBufferPointer {
                cv_embed_centre(input, output, Int32(canvasWidth), Int32(canvasHeight), $0.baseAddress, Int32($0.count))
            }
        }
    }

    /// A colour as one value per band: RGB(A), or grey(A) with libvips' B_W
    /// weights applied to the 8-bit values.
    package static func bandValues(of colour: Colour, bands: Int, alpha: Bool) -> [Double] {
        let colourBands = alpha ? bands - 1 : bands
        var values: [Double]
        if colourBands < 3 {
            let grey = (0.2 * Double(colour.red) + 0.7 * Double(colour.green) + 0.1 * Double(colour.blue)).rounded(.toNearestOrEven)
            values = Array(repeating: grey, count: colourBands)
        } else {
            values = [Double(colour.red), Double(colour.green), Double(colour.blue)]
            values += Array(repeating: 0, count: colourBands - 3)
        }
        if alpha { values.append(Double(colour.alpha)) }
        return values
    }

    private func lookupTableImage(_ table: [UInt8], bands: Int, alpha: Bool) throws(ProcessingError) -> VipsImageHandle {
        var data = [UInt8](repeating: 0, count: 256 * bands)
        for index in 0..<256 {
            for band in 0..<bands {
                let isAlpha = alpha && band == bands - 1
                data[index * bands + band] = isAlpha ? UInt8(index) : table[index]
            }
        }
        let pointer = data.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, 256, 1, Int32(bands), VIPS_FORMAT_UCHAR)
        }
        guard let pointer else {
            throw ProcessingError(.internal, "building the adjustment table failed", detail: LibvipsError.take())
        }
        return VipsImageHandle(owning: pointer)
    }

    // MARK: Colour

    /// Brings the image to 8-bit sRGB (or 8-bit grey), converting through
    /// its ICC profile when it has one, so that operations and encoders see
    /// one kind of pixel and stripped output still shows the right colours.
    private mutating func normaliseColour() throws(ProcessingError) {
        image = try LibvipsEncoding.normaliseColour(image)
    }

    // MARK: Encoding

    /// Computes the pixels and encodes them. Decoding errors in the streamed
    /// pass (a truncated file, say) surface here.
    private mutating func encode(as format: OutputFormat, threads: Int?, killSwitch: KillSwitch) throws(ProcessingError) -> EncodedBytes {
        try LibvipsEncoding.encode(image, as: format, output: recipe.output, threads: threads, killSwitch: killSwitch)
    }
}

/// libvips' smart crop for the gravities it decides (the others are cut by
/// `Position`, and reach this as the centre only when they are the centre).
private func interesting(_ gravity: Resize.Gravity) -> VipsInteresting {
    switch gravity {
    case .attention: VIPS_INTERESTING_ATTENTION
    case .entropy: VIPS_INTERESTING_ENTROPY
    default: VIPS_INTERESTING_CENTRE
    }
}
