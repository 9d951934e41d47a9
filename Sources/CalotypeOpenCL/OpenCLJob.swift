import CVips
import CalotypeCore
import CalotypeLibvips

/// One job on an OpenCL device: libvips decodes on the host (with the same
/// shrink-on-load as the CPU backend), the pixels cross to the device once,
/// every operation of the recipe runs there, the result comes back once and
/// libvips encodes it.
struct OpenCLJob {
    let recipe: Recipe
    let source: LibvipsSource

    static func run(
        _ buffer: UnsafeRawBufferPointer,
        name: String?,
        recipe: Recipe,
        limits: ImageLimits,
        writableFormats: Set<OutputFormat>,
        device: OpenCLDevice,
        backend: String
    ) throws(ProcessingError) -> ProcessedImage {
        let clock = ContinuousClock()
        let start = clock.now
        let (source, format, frames) = try LibvipsSource.open(buffer, name: name, limits: limits, recipe: recipe, writableFormats: writableFormats)
        guard frames == 1 else {
            throw ProcessingError(.unsupportedByBackend, "animations (\(frames) frames) are processed frame by frame by the CPU backend")
        }
        let job = OpenCLJob(recipe: recipe, source: source)
        let (decoded, plan) = try job.prepare(hasDoubles: device.info.hasDoubles)
        for step in plan.steps {
            try limits.checkPlanned(width: step.output.width, height: step.output.height, stage: step.name)
        }
        var decodedAt = clock.now
        var processedAt = decodedAt
        let bytes = try plan.run(
            on: device,
            upload: { buffer throws(ProcessingError) in
                // libvips decodes straight into the mapped device buffer.
                try Self.decode(decoded, into: buffer)
                decodedAt = clock.now
            },
            consume: { pixels throws(ProcessingError) in
                processedAt = clock.now
                let output = try Self.image(wrapping: pixels, shape: plan.shape, like: decoded)
                return try LibvipsEncoding.encode(output, as: format, output: recipe.output)
            }
        )
        let finished = clock.now
        return ProcessedImage(
            bytes: bytes,
            format: format,
            width: plan.shape.width,
            height: plan.shape.height,
            sourceFormat: source.format,
            backend: backend,
            timings: StageTimings(decode: decodedAt - start, process: processedAt - decodedAt, encode: finished - processedAt)
        )
    }

    /// Opens the image (on the host, lazily) and plans the device's work.
    func prepare(hasDoubles: Bool) throws(ProcessingError) -> (VipsImageHandle, OpenCLPlan) {
        var remaining = recipe.operations[...]
        let image: VipsImageHandle
        var plan: OpenCLPlan
        if case .resize(let asked)? = remaining.first {
            remaining = remaining.dropFirst()
            let display = source.displaySize(autorotate: recipe.autorotate)
            let resize = asked.resolved(forWidth: display.width, height: display.height)
            let resizePlan = ResizePlan(resize, imageWidth: display.width, imageHeight: display.height)
            let shrink = resizePlan.fastDecoderShrink
            if resize.fastShrink, shrink > 1, source.format == .jpeg || source.format == .webp {
                (image, plan) = try fastShrink(resize, shrink: shrink, hasDoubles: hasDoubles)
            } else {
                (image, plan) = try thumbnail(resize, display: display, hasDoubles: hasDoubles)
            }
            try plan.pad(resize)
        } else {
            let orientationApplies = recipe.autorotate && source.header.orientation != 1
            var opened = try source.open(access: orientationApplies ? VIPS_ACCESS_RANDOM : VIPS_ACCESS_SEQUENTIAL)
            if orientationApplies {
                opened = try opened.apply("auto-orientation") { cv_autorot($0, $1) }
            }
            image = try LibvipsEncoding.normaliseColour(opened)
            plan = OpenCLPlan(width: image.width, height: image.height, bands: image.bands, hasDoubles: hasDoubles)
        }
        for operation in remaining {
            try apply(operation, to: &plan)
        }
        guard image.width * image.height * image.bands == plan.input.bytes else {
            throw ProcessingError(.internal, "a \(image.width)x\(image.height)x\(image.bands) image planned as \(plan.input.bytes) bytes")
        }
        return (image, plan)
    }

    private func apply(_ operation: Operation, to plan: inout OpenCLPlan) throws(ProcessingError) {
        switch operation {
        case .crop(let crop):
            guard let area = crop.clamped(toWidth: plan.shape.width, height: plan.shape.height) else {
                throw ProcessingError(
                    .invalidForImage,
                    "crop at \(crop.x),\(crop.y) lies outside the \(plan.shape.width)x\(plan.shape.height) image"
                )
            }
            plan.crop(x: area.x, y: area.y, width: area.width, height: area.height)
        case .resize(let asked):
            let resize = asked.resolved(forWidth: plan.shape.width, height: plan.shape.height)
            try Self.checkGravity(resize)
            let resizePlan = ResizePlan(resize, imageWidth: plan.shape.width, imageHeight: plan.shape.height)
            try plan.lanczos(resizePlan)
            try plan.pad(resize)
        case .rotate(let rotate):
            plan.rotate(rotate.angle)
        case .flip(let flip):
            plan.flip(horizontal: flip.direction == .horizontal)
        case .blur(let blur):
            plan.blur(sigma: blur.sigma)
        case .sharpen(let sharpen):
            try plan.sharpen(sigma: sharpen.sigma)
        case .adjust(let adjust):
            plan.adjust(adjust.lookupTable)
        case .grayscale:
            try plan.grayscale()
        case .pixelate, .trim, .extend, .padding, .flatten, .watermark:
            // Not in `OpenCLOperations.ported`: the scheduler never sends them here.
            throw ProcessingError(.unsupportedByBackend, "the OpenCL backend has no kernels for \(operation.kind.rawValue)")
        }
    }

    static func checkGravity(_ resize: Resize) throws(ProcessingError) {
        if resize.scalesBeyondTheBox {
            throw ProcessingError(.unsupportedByBackend, "the OpenCL backend resizes to a box only")
        }
        if resize.effectiveFit == .cover && resize.position != .centre {
            throw ProcessingError(.unsupportedByBackend, "the OpenCL backend crops with centre gravity only")
        }
    }

    // MARK: Shrink-on-load, as the CPU backend

    /// `fast_shrink`: the decoder shrinks by a power of two, Lanczos does the
    /// rest in the stored orientation, then the small result is oriented.
    private func fastShrink(_ resize: Resize, shrink: Int, hasDoubles: Bool) throws(ProcessingError) -> (VipsImageHandle, OpenCLPlan) {
        try Self.checkGravity(resize)
        let options = source.format == .jpeg ? "shrink=\(shrink)" : "scale=\(1 / Double(shrink))"
        let decoded = try Self.checkedForDevice(try source.open(access: VIPS_ACCESS_SEQUENTIAL, options: options))
        let swaps = recipe.autorotate && source.header.orientationSwapsAxes
        var stored = resize
        if swaps { (stored.width, stored.height) = (resize.height, resize.width) }
        var plan = OpenCLPlan(width: decoded.width, height: decoded.height, bands: decoded.bands, hasDoubles: hasDoubles)
        try plan.lanczos(ResizePlan(stored, imageWidth: decoded.width, imageHeight: decoded.height))
        if recipe.autorotate && source.header.orientation != 1 {
            plan.orient(source.header.orientation)
        }
        return (decoded, plan)
    }

    /// What `vips_thumbnail_buffer` does for the CPU backend: the loader's
    /// shrink-on-load, the processing colour space, `vips_resize` by the
    /// remaining shrink, orientation, then the centre crop of `cover`.
    private func thumbnail(
        _ resize: Resize,
        display: (width: Int, height: Int),
        hasDoubles: Bool
    ) throws(ProcessingError) -> (VipsImageHandle, OpenCLPlan) {
        try Self.checkGravity(resize)
        let unbounded = Int(VIPS_MAX_COORD)
        var target = ThumbnailShrink(
            width: resize.width ?? unbounded,
            height: resize.height ?? unbounded,
            swap: recipe.autorotate && source.header.orientationSwapsAxes,
            crop: resize.effectiveFit == .cover,
            force: resize.effectiveFit == .fill
        )
        if target.force {
            target.width = min(target.width, display.width)
            target.height = min(target.height, display.height)
        }
        let header = source.header
        var options = ""
        switch source.format {
        case .jpeg:
            let common = target.commonShrink(width: header.width, height: header.height)
            let factor = common >= 16 ? 8 : common >= 8 ? 4 : common >= 4 ? 2 : 1
            options = "shrink=\(factor)"
        case .webp:
            let factor = max(1.0, target.commonShrink(width: header.width, height: header.height))
            options = "scale=\(1.0 / factor)"
        case .tiff:
            if (header.has("n-pages") && Self.intField(header, "n-pages") > 1) || header.has("n-subifds") && Self.intField(header, "n-subifds") > 0 {
                throw ProcessingError(.unsupportedByBackend, "multi-page and pyramidal TIFFs are thumbnailed by the CPU backend")
            }
        case .heif, .avif:
            throw ProcessingError(.unsupportedByBackend, "HEIF/AVIF thumbnails (embedded previews) are made by the CPU backend")
        default:
            break
        }
        var image = try source.open(access: VIPS_ACCESS_SEQUENTIAL, options: options)
        let processing = image.bands < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
        if image.interpretation != processing || image.bandFormat != VIPS_FORMAT_UCHAR {
            image = try image.apply("colour conversion") { cv_colourspace($0, $1, processing) }
        }
        image = try Self.checkedForDevice(image)
        let (hshrink, vshrink) = target.shrinks(width: image.width, height: image.height)
        if image.hasAlpha && hshrink != 1.0 && vshrink != 1.0 {
            throw ProcessingError(.unsupportedByBackend, "images with alpha are resized premultiplied in float by the CPU backend")
        }
        var plan = OpenCLPlan(width: image.width, height: image.height, bands: image.bands, hasDoubles: hasDoubles)
        try plan.resize(horizontalScale: 1.0 / hshrink, verticalScale: 1.0 / vshrink)
        if recipe.autorotate && header.orientation != 1 {
            plan.orient(header.orientation)
        }
        if target.crop {
            plan.centreCrop(width: target.width, height: target.height)
        }
        return (image, plan)
    }

    /// The device takes 8-bit sRGB or grey without a colour profile still
    /// to apply (the CPU backend applies profiles after resizing).
    private static func checkedForDevice(_ image: VipsImageHandle) throws(ProcessingError) -> VipsImageHandle {
        let interpretation = image.interpretation
        guard image.bandFormat == VIPS_FORMAT_UCHAR,
            interpretation == VIPS_INTERPRETATION_sRGB || interpretation == VIPS_INTERPRETATION_B_W,
            (1...4).contains(image.bands)
        else {
            throw ProcessingError(.unsupportedByBackend, "this image's colour space is converted after resizing, on the CPU backend")
        }
        guard !image.hasICCProfile else {
            throw ProcessingError(.unsupportedByBackend, "images with an ICC profile are resized before colour management, on the CPU backend")
        }
        return image
    }

    private static func intField(_ image: VipsImageHandle, _ field: String) -> Int {
        var value: Int32 = 0
        return vips_image_get_int(image.pointer, field, &value) == 0 ? Int(value) : 0
    }

    // MARK: Output

    /// Computes the pixels of `image` (decoding happens here) into `buffer`.
    static func decode(_ image: VipsImageHandle, into buffer: UnsafeMutableRawBufferPointer) throws(ProcessingError) {
        guard let base = buffer.baseAddress,
            let target = vips_image_new_from_memory(
                base,
                buffer.count,
                Int32(image.width),
                Int32(image.height),
                Int32(image.bands),
                VIPS_FORMAT_UCHAR
            )
        else {
            throw ProcessingError(.internal, "wrapping the device's input buffer failed", detail: LibvipsError.take())
        }
        defer { g_object_unref(target) }
        guard vips_image_write(image.pointer, target) == 0 else {
            throw ProcessingError(.corrupt, "decoding failed", detail: LibvipsError.take())
        }
    }

    /// The device's result (mapped memory, not copied) as a libvips image
    /// with the decoded image's resolution, for the shared encoder. It must
    /// not outlive `pixels`.
    static func image(
        wrapping pixels: UnsafeRawBufferPointer,
        shape: OpenCLPlan.Shape,
        like decoded: VipsImageHandle
    ) throws(ProcessingError) -> VipsImageHandle {
        guard let base = pixels.baseAddress,
            let pointer = vips_image_new_from_memory(
                base,
                pixels.count,
                Int32(shape.width),
                Int32(shape.height),
                Int32(shape.bands),
                VIPS_FORMAT_UCHAR
            )
        else {
            throw ProcessingError(.internal, "wrapping the device's result failed", detail: LibvipsError.take())
        }
        pointer.pointee.Type = shape.bands < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
        pointer.pointee.Xres = decoded.pointer.pointee.Xres
        pointer.pointee.Yres = decoded.pointer.pointee.Yres
        return VipsImageHandle(owning: pointer)
    }
}

/// `vips_thumbnail`'s shrink arithmetic (vips_thumbnail_calculate_shrink).
struct ThumbnailShrink {
    var width: Int
    var height: Int
    /// The image will be rotated by its orientation: swap the target box.
    var swap: Bool
    /// `cover`: fill the box (crop afterwards).
    var crop: Bool
    /// `fill`: shrink each axis on its own (`VIPS_SIZE_FORCE`).
    var force: Bool

    func shrinks(width inputWidth: Int, height inputHeight: Int) -> (Double, Double) {
        let targetWidth = swap ? height : width
        let targetHeight = swap ? width : height
        var hshrink = Double(inputWidth) / Double(targetWidth)
        var vshrink = Double(inputHeight) / Double(targetHeight)
        let horizontal = crop ? hshrink < vshrink : !(hshrink < vshrink)
        if !force {
            if horizontal { vshrink = hshrink } else { hshrink = vshrink }
            hshrink = max(1, hshrink)
            vshrink = max(1, vshrink)
        }
        hshrink = min(hshrink, Double(inputWidth))
        vshrink = min(vshrink, Double(inputHeight))
        return (hshrink, vshrink)
    }

    func commonShrink(width: Int, height: Int) -> Double {
        let (h, v) = shrinks(width: width, height: height)
        return min(h, v)
    }
}

extension OpenCLPlan {
    /// The CPU backend's `lanczos()`: `vips_resize` by the plan's scales,
    /// then `cover`'s centre crop when the result overflows the box.
    mutating func lanczos(_ resizePlan: ResizePlan) throws(ProcessingError) {
        if resizePlan.horizontalScale != 1 || resizePlan.verticalScale != 1 {
            try resize(horizontalScale: resizePlan.horizontalScale, verticalScale: resizePlan.verticalScale)
        }
        if let cropWidth = resizePlan.cropWidth, let cropHeight = resizePlan.cropHeight,
            shape.width > cropWidth || shape.height > cropHeight
        {
            centreCrop(width: cropWidth, height: cropHeight)
        }
    }

    /// `contain`'s padding for `resize` on the current image.
    mutating func pad(_ resize: Resize) throws(ProcessingError) {
        let resizePlan = ResizePlan(resize, imageWidth: shape.width, imageHeight: shape.height)
        guard let canvasWidth = resizePlan.canvasWidth, let canvasHeight = resizePlan.canvasHeight else { return }
        pad(toWidth: canvasWidth, height: canvasHeight, colour: resize.background)
    }
}
