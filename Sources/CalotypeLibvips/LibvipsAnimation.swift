import CVips
import CalotypeCore

/// An animated GIF or WebP written as an animation (GIF or WebP out).
///
/// Every frame is decoded into one strip (`n=-1`, the loaders' layout),
/// each frame is cut from it and run through the whole recipe on its own,
/// so that no operation (a blur, a crop's gravity, a rotation) reads across
/// a frame's edge, and the results are stacked again with the new page
/// height; the delays and loop count ride along as the strip's metadata.
/// The frames were counted and checked against the limits before this
/// decodes anything (`LibvipsSource.open`).
enum LibvipsAnimation {
    static func run(
        _ source: LibvipsSource,
        frames: Int,
        format: OutputFormat,
        recipe: Recipe,
        limits: ImageLimits,
        backend: String,
        threads: Int?,
        killSwitch: KillSwitch,
        watermark: LibvipsWatermark?,
        started: ContinuousClock.Instant
    ) throws(ProcessingError) -> ProcessedImage {
        let clock = ContinuousClock()
        // Each frame would lose its own border, and the frames would no
        // longer stack (imgproxy does not trim animations either).
        if recipe.operationKinds.contains(.trim) {
            throw ProcessingError(.invalidForImage, "trim is not applied to animations (write the first frame: format=png, say)")
        }
        let strip = try source.open(access: VIPS_ACCESS_RANDOM, options: "n=-1").copiedToMemory(killSwitch: killSwitch)
        let frameHeight = strip.int("page-height") ?? strip.height / frames
        guard frameHeight > 0, strip.height == frameHeight * frames else {
            throw ProcessingError(.corrupt, "the animation's \(frames) frames do not fill its \(strip.height) rows")
        }
        let opened = clock.now
        var outputs: [VipsImageHandle] = []
        outputs.reserveCapacity(frames)
        for index in 0..<frames {
            try killSwitch.check()
            let frame = try strip.apply("frame \(index + 1)") {
                cv_extract_area($0, $1, 0, Int32(index * frameHeight), Int32(strip.width), Int32(frameHeight))
            }
            let processed = try LibvipsPipeline.processFrame(
                frame,
                of: source,
                recipe: recipe,
                limits: limits,
                killSwitch: killSwitch,
                watermark: watermark
            )
            if let first = outputs.first {
                guard processed.width == first.width, processed.height == first.height else {
                    throw ProcessingError(
                        .invalidForImage,
                        "frame \(index + 1) came out \(processed.width)x\(processed.height), frame 1 \(first.width)x\(first.height): the frames would not stack"
                    )
                }
            } else {
                // All frames, before any is computed (each frame's own size was checked on the way).
                try limits.checkPlanned(width: processed.width, height: processed.height * frames, stage: "animation")
            }
            outputs.append(processed)
        }
        let (width, height) = (outputs[0].width, outputs[0].height)
        var joined: UnsafeMutablePointer<VipsImage>?
        var pointers: [UnsafeMutablePointer<VipsImage>?] = outputs.map(\.pointer)
        let status = pointers.withUnsafeMutableBufferPointer { cv_join_frames($0.baseAddress, Int32(frames), Int32(height), &joined) }
        guard status == 0, let joined else {
            throw ProcessingError(.internal, "joining the animation's frames failed", detail: LibvipsError.take())
        }
        let animation = VipsImageHandle(owning: joined)
        let built = clock.now
        try killSwitch.check()
        let bytes = try LibvipsEncoding.encode(animation, as: format, output: recipe.output, threads: threads, killSwitch: killSwitch)
        withExtendedLifetime(outputs) {}
        return ProcessedImage(
            bytes: bytes,
            format: format,
            width: width,
            height: height,
            sourceFormat: source.format,
            backend: backend,
            timings: StageTimings(decode: opened - started, process: built - opened, encode: clock.now - built),
            frames: frames
        )
    }
}
