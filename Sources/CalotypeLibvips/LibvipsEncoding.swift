import CVips
import CVipsOperations
import CalotypeCore

/// Encoding and colour normalisation shared by the libvips pipeline and the
/// OpenCL backend (which decodes and encodes with libvips too), so that both
/// write the same bytes for the same pixels.
package enum LibvipsEncoding {
    /// Computes the pixels of `image` (for a lazy libvips image) and encodes
    /// them: JPEG flattens alpha onto white; quality and `strip` as `output` says.
    /// `threads` overrides libvips' process-wide thread count for this image
    /// (nil keeps it). `killSwitch` can stop the computation from another thread.
    ///
    /// With `max_bytes`, the pixels are rendered once and encoded again at a
    /// lower quality until they fit, as imgproxy does: the quality times a
    /// quarter while the result is over three times the cap, a half while
    /// over 1.5 times, else three quarters; at most 8 more encodes, and not
    /// once the quality is 10 or under (that last result is the answer).
    package static func encode(
        _ image: VipsImageHandle,
        as format: OutputFormat,
        output: OutputOptions,
        threads: Int? = nil,
        killSwitch: KillSwitch = KillSwitch()
    ) throws(ProcessingError) -> EncodedBytes {
        var image = image
        if format == .jpeg && image.hasAlpha {
            let white: [Double] = Array(repeating: 255, count: image.bands - 1)
            image = try image.apply("flatten") { input, result in
                white.withUnsafeBufferPointer { cv_flatten(input, result, $0.baseAddress, Int32($0.count)) }
            }
        }
        if let threads {
            // Read by libvips' thread pool when the write starts (VIPS_META_CONCURRENCY).
            vips_image_set_int(image.pointer, "concurrency", Int32(clamping: max(threads, 1)))
        }
        var quality = output.quality(for: format)
        guard let maxBytes = output.maxBytes, format.hasQuality else {
            return try write(image, saverSuffix(format, quality: quality, strip: output.strip), killSwitch: killSwitch)
        }
        let rendered = try image.copiedToMemory(killSwitch: killSwitch)
        var bytes = try write(rendered, saverSuffix(format, quality: quality, strip: output.strip), killSwitch: killSwitch)
        var tries = 0
        while bytes.count > maxBytes && quality > 10 && tries < 8 {
            let over = Double(bytes.count) / Double(maxBytes)
            quality = max(1, Int(Double(quality) * (over > 3 ? 0.25 : over > 1.5 ? 0.5 : 0.75)))
            bytes = try write(rendered, saverSuffix(format, quality: quality, strip: output.strip), killSwitch: killSwitch)
            tries += 1
        }
        return bytes
    }

    /// One encode of `image` by the saver `suffix` names, in the buffer
    /// libvips wrote (not copied out of it: the answer copies it once).
    private static func write(_ image: VipsImageHandle, _ suffix: String, killSwitch: KillSwitch) throws(ProcessingError) -> EncodedBytes {
        try killSwitch.watching(image) { () throws(ProcessingError) -> EncodedBytes in
            var buffer: UnsafeMutableRawPointer?
            var length = 0
            guard cv_write_to_buffer(image.pointer, suffix, &buffer, &length) == 0, let buffer else {
                throw ProcessingError(.corrupt, "decoding or encoding the image failed", detail: LibvipsError.take())
            }
            let owned = GLibBuffer(buffer)
            return EncodedBytes(borrowing: owned.pointer, count: length, owner: owned)
        }
    }

    /// The suffix and options that pick libvips' buffer saver for `format`
    /// (`.jpg[Q=80,strip]`). AVIF is `heifsave_buffer` with AV1: in
    /// libvips 8.14 only the file saver lists `.avif`, so `.heif` names
    /// the buffer saver and `compression=av1` makes it AVIF.
    package static func saverSuffix(_ format: OutputFormat, quality: Int, strip: Bool) -> String {
        var options: [String] = []
        switch format {
        case .jpeg, .webp:
            options.append("Q=\(quality)")
        case .avif:
            options += ["compression=av1", "Q=\(quality)", "effort=\(avifEffort)", "bitdepth=8"]
        case .jxl:
            options += ["Q=\(quality)", "effort=\(jxlEffort)"]
        case .gif:
            options.append("effort=\(gifEffort)")
        case .png, .original:
            break
        }
        if strip { options.append("strip") }
        let extensionName = format == .avif ? "heif" : format.fileExtension
        return ".\(extensionName)" + (options.isEmpty ? "" : "[\(options.joined(separator: ","))]")
    }

    /// AV1's effort (0-9; libheif's speed is 9 minus it: imgproxy's
    /// default speed 8). On the photo set at 800 px and Q 65
    /// (`Benchmarks/format-figures.py`): effort 4, libvips' default, 441
    /// ms and 26.0 KiB a photo; 2, 101 ms and 25.3 KiB; 1, 50 ms and 27.0
    /// KiB; 0, 24 ms and 29.9 KiB. WebP at the same SSIM: 26 ms, 38.1 KiB.
    static let avifEffort = 1
    /// JPEG XL's effort (3-9 in this libjxl; imgproxy's default is 4): 4
    /// took 20 ms and 37.8 KiB a photo, 7 (libjxl's default) 74 ms and
    /// 35.1 KiB.
    static let jxlEffort = 4
    /// GIF's quantisation effort (1-10; libvips' default 7): the palette
    /// search is most of an animated GIF's cost. On 50 frames of 480x360
    /// photo (libvips' gifsave, one run): 7 took 8.6 s, 34.70 dB PSNR
    /// against the frames, 5,294 KiB; 4, 4.4 s, 34.41 dB, 5,396 KiB; 1-3,
    /// 2.8 s, 33.36 dB, 5,695 KiB. Half the time for 0.3 dB.
    static let gifEffort = 4

    /// Brings `image` to 8-bit sRGB (or 8-bit grey), converting through its
    /// ICC profile when it has one.
    package static func normaliseColour(_ image: VipsImageHandle) throws(ProcessingError) -> VipsImageHandle {
        var image = image
        if image.hasICCProfile {
            if let converted = cachedConversionToSRGB(image) {
                image = converted
            } else if let converted = try? image.apply("colour management", { cv_icc_to_srgb($0, $1) }) {
                image = converted
            } else {
                _ = LibvipsError.take()  // A broken profile: fall back to the plain conversion below.
            }
        }
        let grey = image.interpretation == VIPS_INTERPRETATION_B_W || image.interpretation == VIPS_INTERPRETATION_GREY16
        let target = grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
        if image.interpretation != target || image.bandFormat != VIPS_FORMAT_UCHAR {
            image = try image.apply("colour conversion") { cv_colourspace($0, $1, target) }
        }
        if image.bandFormat != VIPS_FORMAT_UCHAR {
            image = try image.apply("8-bit conversion") { cv_cast($0, $1, VIPS_FORMAT_UCHAR) }
        }
        return image
    }

    /// `vips_icc_transform` to sRGB with the profile's lcms2 transform made
    /// once and kept (`cv_icc_to_srgb_cached`): the same pixels and profile,
    /// without building the transform for every image (about 3 ms of a
    /// tagged photo's thumbnail). Nil where it does not apply (8-bit RGB
    /// with an RGB profile only) or fails: libvips' own operation then.
    private static func cachedConversionToSRGB(_ image: VipsImageHandle) -> VipsImageHandle? {
        var output: UnsafeMutablePointer<VipsImage>?
        let status = cv_icc_to_srgb_cached(image.pointer, &output)
        guard status == 0, let output else {
            if status < 0 { _ = LibvipsError.take() }
            return nil
        }
        return VipsImageHandle(owning: output)
    }
}
