import CVips
import CVipsOperations
import CalotypeCore

/// `vips_resize(hscale, vscale)` (Lanczos3), with the same pixels as
/// libvips 8.14 gives and its two Lanczos steps done faster.
///
/// libvips downsizes with a vertical reduction, then a horizontal one. Its
/// horizontal Lanczos loop is scalar and, after decoding, was the largest
/// cost of a thumbnail: a 1280x800 image reduced to 800 wide took 12.0 ms in
/// `vips_reduceh` against 2.3 ms in `cv_lanczos_reduceh` (SSE2 multiply-adds
/// on 16-bit pixel pairs, the same results; measured in one run on this
/// project's 2-core machine). Its vertical step is vectorised, but compiles
/// its vector program for every image; `cv_lanczos_reducev` is that
/// arithmetic as a fixed SSE2 loop. So this type asks libvips only for the
/// box pre-shrinks and computes the Lanczos steps itself, with libvips' own
/// tables (`LanczosReduction`).
///
/// Only where the result is provably libvips': 8-bit images of 1 to 4
/// bands, downsizing only, and only if the start-up check found this
/// libvips computing what the port computes (`checkedPortAgrees`, run
/// once). Everything else is `vips_resize` itself.
package enum LibvipsResize {
    /// The C loops of the Lanczos steps: the same pixels from each.
    package enum Loop: Int32, CaseIterable, Sendable {
        case plainC = 0
        case sse2 = 1
        /// The widest this processor runs (AVX2 for the vertical step).
        case widest = 2
    }

    /// Resizes `image` by the two scales.
    package static func resize(_ image: VipsImageHandle, horizontalScale: Double, verticalScale: Double) throws(ProcessingError) -> VipsImageHandle {
        guard portApplies(to: image, horizontalScale: horizontalScale, verticalScale: verticalScale), checkedPortAgrees else {
            return try image.apply("resize") { cv_resize($0, $1, horizontalScale, verticalScale) }
        }
        return try reduce(image, horizontalScale: horizontalScale, verticalScale: verticalScale, loop: .widest)
    }

    /// Whether the port computes this resize (before the self-check).
    static func portApplies(to image: VipsImageHandle, horizontalScale: Double, verticalScale: Double) -> Bool {
        image.bandFormat == VIPS_FORMAT_UCHAR && image.pointer.pointee.Coding == VIPS_CODING_NONE
            && (1...4).contains(image.bands) && horizontalScale <= 1 && verticalScale <= 1
            && horizontalScale > 0 && verticalScale > 0
    }

    /// `vips_resize`'s downsizing, step by step: the scales clamped so that
    /// no axis falls under one pixel, then `vips_reducev`'s steps, then
    /// `vips_reduceh`'s.
    /// `loop` chooses the C loops; all give the same pixels (tests run each).
    package static func reduce(
        _ image: VipsImageHandle,
        horizontalScale: Double,
        verticalScale: Double,
        loop: Loop
    ) throws(ProcessingError) -> VipsImageHandle {
        let hscale = max(horizontalScale, 1.0 / Double(image.width))
        let vscale = max(verticalScale, 1.0 / Double(image.height))
        var result = image
        if vscale < 1 {
            result = try reduce(result, LanczosReduction(length: result.height, shrink: 1.0 / vscale, vertical: true), vertical: true, loop: loop)
        }
        if hscale < 1 {
            result = try reduce(result, LanczosReduction(length: result.width, shrink: 1.0 / hscale, vertical: false), vertical: false, loop: loop)
        }
        return result
    }

    /// One axis: libvips' box pre-shrink where the reduction has one, then
    /// the Lanczos step in `cv_lanczos_reducev`/`cv_lanczos_reduceh`.
    private static func reduce(
        _ image: VipsImageHandle,
        _ reduction: LanczosReduction,
        vertical: Bool,
        loop: Loop
    ) throws(ProcessingError) -> VipsImageHandle {
        var result = image
        if reduction.box > 1 {
            let box = Int32(reduction.box)
            result = try result.apply("resize") { vertical ? cv_shrinkv($0, $1, box) : cv_shrinkh($0, $1, box) }
        }
        guard let lanczos = reduction.lanczos else { return result }
        return try result.apply("resize") { input, output in
            lanczos.coefficients.withUnsafeBufferPointer { coefficients in
                let reduce = vertical ? cv_lanczos_reducev : cv_lanczos_reduceh
                return reduce(
                    input,
                    output,
                    Int32(reduction.outputLength),
                    lanczos.shrink,
                    lanczos.offset,
                    Int32(lanczos.taps),
                    coefficients.baseAddress,
                    loop.rawValue
                )
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
                    for loop in Loop.allCases {
                        let actual = try reduce(image, horizontalScale: h, verticalScale: v, loop: loop).pixels()
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
