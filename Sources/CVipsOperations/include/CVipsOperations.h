#ifndef CALOTYPE_CVIPS_OPERATIONS_H
#define CALOTYPE_CVIPS_OPERATIONS_H

/*
 * Operations Calotype adds to libvips, built as ordinary lazy libvips images
 * (vips_image_generate), so that they stream, run on libvips' threads and
 * stop at its kill flag like libvips' own.
 */

#include <stdint.h>
#include <vips/vips.h>

/*
 * The Lanczos3 step of vips_reduceh on an 8-bit image of 1 to 4 bands, with
 * libvips 8.14's arithmetic (12-bit coefficients, `(sum + 2048) >> 12`,
 * edges repeated, each region's positions stepped from its left edge), so
 * that the pixels are the same as vips_reduceh's, computed several times
 * faster with SIMD multiply-adds.
 *
 * `shrink` (> 1) and `offset` are vips_reduceh's after its box pre-shrink;
 * `coefficients` holds 65 phases of `taps` coefficients and is copied.
 * `vectorised` 0 selects the plain C loop (the same results; for tests and
 * for processors without SSE2). Returns 0, or -1 with libvips' error set.
 */
int cv_lanczos_reduceh(VipsImage *in, VipsImage **out, int output_width, double shrink, double offset,
                       int taps, const int32_t *coefficients, int vectorised);

/* Whether cv_lanczos_reduceh has a SIMD loop on this processor. */
int cv_lanczos_reduceh_has_simd(void);

/*
 * vips_icc_transform(in, out, "srgb", "embedded", TRUE) for an 8-bit RGB
 * image with an embedded RGB profile, with the same pixels and metadata,
 * and the lcms2 transform made once per distinct profile (at most 32 kept).
 * Returns 0 with `out` set; 1 where it does not apply (another kind of
 * image or profile, a profile libvips would not use, the table full): use
 * vips_icc_transform then; -1 with libvips' error set.
 */
int cv_icc_to_srgb_cached(VipsImage *in, VipsImage **out);

/* How many profiles' transforms are kept (tests). */
int cv_icc_cached_transforms(void);

#endif
