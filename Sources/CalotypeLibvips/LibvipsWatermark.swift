import CVips
import CalotypeCore

/// The server's watermark, decoded once when the backend starts: 8-bit
/// sRGB with alpha, in memory, read by every job that lays it (libvips
/// reads an image in memory from any thread; nothing writes to it).
package final class LibvipsWatermark: @unchecked Sendable {
    let image: VipsImageHandle

    /// Decodes `watermark`, refusing what is not an image within `limits`.
    init(_ watermark: WatermarkImage, limits: ImageLimits) throws(ProcessingError) {
        let decoded: Result<VipsImageHandle, ProcessingError> = watermark.bytes.withUnsafeBytes { buffer in
            Result { () throws(ProcessingError) -> VipsImageHandle in
                let source = try LibvipsSource(buffer, name: watermark.name, limits: limits)
                var image = try LibvipsEncoding.normaliseColour(try source.open(access: VIPS_ACCESS_RANDOM))
                if image.bands < 3 {
                    image = try image.apply("watermark colour") { cv_colourspace($0, $1, VIPS_INTERPRETATION_sRGB) }
                }
                if !image.hasAlpha {
                    image = try image.apply("watermark alpha") { cv_add_alpha($0, $1) }
                }
                // Its own pixels: nothing of it points into the bytes after this.
                return try image.copiedToMemory(killSwitch: KillSwitch())
            }
        }
        image = try decoded.get()
    }

    /// The watermark as `mark` lays it on a `width` x `height` image: fitted
    /// into its share of the image (`scale`), its alpha times the opacity.
    func prepared(for mark: Watermark, width: Int, height: Int) throws(ProcessingError) -> VipsImageHandle {
        var overlay = image
        if mark.scale > 0 {
            var factor = min(Double(width) * mark.scale / Double(overlay.width), Double(height) * mark.scale / Double(overlay.height))
            // At least a pixel on its shorter side: libvips refuses to make less.
            factor = max(factor, 1 / Double(min(overlay.width, overlay.height)))
            if factor != 1, factor > 0 {
                overlay = try overlay.apply("watermark scale") { cv_resize($0, $1, factor, factor) }
            }
        }
        if mark.opacity < 1 {
            overlay = try overlay.apply("watermark opacity") { cv_scale_last_band($0, $1, mark.opacity) }
        }
        return overlay
    }
}
