import CVips
import CVipsOperations
import CalotypeCore

/// `vips_resize(hscale, vscale)` (Lanczos3), with the same pixels as
/// libvips 8.14 gives and its most expensive step done faster.
///
/// libvips downsizes with a vertical reduction, then a horizontal one. Its
/// vertical pass is vectorised; its horizontal Lanczos loop is scalar and,
/// after decoding, the largest cost of a thumbnail: a 1280x800 image reduced
/// to 800 wide took 12.0 ms in `vips_reduceh` against 2.3 ms in
/// `cv_lanczos_reduceh` (SSE2 multiply-adds on 16-bit pixel pairs, same
/// results; measured in one run on this project's 2-core machine). So
/// this type asks libvips for every step except that loop, and runs that
/// loop itself with libvips' own tables (`LanczosReduction`).
///
/// Only where the result is provably libvips': 8-bit images of 1 to 4
/// bands, downsizing only, and only if the start-up check found this
/// libvips computing what the port computes (`LibvipsResize.selfCheck`,
/// run once). Everything else is `vips_resize` itself.
package enum LibvipsResize {
    /// Resizes `image` by the two scales.
    package static func resize(_ image: VipsImageHandle, horizontalScale: Double, verticalScale: Double) throws(ProcessingError) -> VipsImageHandle {
        guard portApplies(to: image, horizontalScale: horizontalScale, verticalScale: verticalScale), checkedPortAgrees else {
            return try image.apply("resize") { cv_resize($0, $1, horizontalScale, verticalScale) }
        }
        return try reduce(image, horizontalScale: horizontalScale, verticalScale: verticalScale, vectorised: true)
    }

    /// Whether the port computes this resize (before the self-check).
    static func portApplies(to image: VipsImageHandle, horizontalScale: Double, verticalScale: Double) -> Bool {
        image.bandFormat == VIPS_FORMAT_UCHAR && image.pointer.pointee.Coding == VIPS_CODING_NONE
            && (1...4).contains(image.bands) && horizontalScale <= 1 && verticalScale <= 1
            && horizontalScale > 0 && verticalScale > 0
    }

    /// `vips_resize`'s downsizing, step by step: the scales clamped so that
    /// no axis falls under one pixel, `vips_reducev`, then `vips_reduceh`'s
    /// box pre-shrink and the Lanczos step done by `cv_lanczos_reduceh`.
    /// `vectorised` false runs the port's plain C loop (tests).
    package static func reduce(
        _ image: VipsImageHandle, horizontalScale: Double, verticalScale: Double, vectorised: Bool
    ) throws(ProcessingError) -> VipsImageHandle {
        let hscale = max(horizontalScale, 1.0 / Double(image.width))
        let vscale = max(verticalScale, 1.0 / Double(image.height))
        var result = image
        if vscale < 1 {
            result = try result.apply("resize") { cv_reducev($0, $1, 1.0 / vscale) }
        }
        guard hscale < 1 else { return result }
        let reduction = LanczosReduction(length: result.width, shrink: 1.0 / hscale, vertical: false)
        if reduction.box > 1 {
            result = try result.apply("resize") { cv_shrinkh($0, $1, Int32(reduction.box)) }
        }
        guard let lanczos = reduction.lanczos else { return result }
        return try result.apply("resize") { input, output in
            lanczos.coefficients.withUnsafeBufferPointer { coefficients in
                cv_lanczos_reduceh(
                    input, output, Int32(reduction.outputLength), lanczos.shrink, lanczos.offset, Int32(lanczos.taps),
                    coefficients.baseAddress, vectorised ? 1 : 0)
            }
        }
    }

    /// The start-up check, run once: whether the port gives `vips_resize`'s
    /// pixels, byte for byte, on this libvips (8.15 and later changed its
    /// arithmetic), for every band count and a spread of scales. If not,
    /// Calotype uses `vips_resize` throughout.
    package static let checkedPortAgrees: Bool = selfCheck()

    static func selfCheck() -> Bool {
        do {
            for bands in 1...4 {
                let pixels = SyntheticImage.picture(width: 301, height: 67 * 2, seed: UInt64(bands)).prefix(301 * 67 * bands)
                let pointer = Array(pixels).withUnsafeBytes {
                    vips_image_new_from_memory_copy($0.baseAddress, $0.count, 301, 67, Int32(bands), VIPS_FORMAT_UCHAR)
                }
                guard let pointer else {
                    _ = LibvipsError.take()
                    return false
                }
                let image = VipsImageHandle(owning: pointer)
                for (h, v) in [(0.37, 0.37), (0.8, 0.55), (0.61, 1.0), (0.13, 0.2), (0.5, 0.5)] {
                    let expected = try image.apply("self-check") { cv_resize($0, $1, h, v) }.pixels()
                    for vectorised in [true, false] {
                        let actual = try reduce(image, horizontalScale: h, verticalScale: v, vectorised: vectorised).pixels()
                        guard actual == expected else { return false }
                    }
                }
            }
            return true
        } catch {
            _ = LibvipsError.take()
            return false
        }
    }
}
