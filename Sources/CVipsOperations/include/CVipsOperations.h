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
 * `vectorised` chooses the loop: 0 plain C, 1 SSE2, 2 the widest this
 * processor has (AVX2 where the pass has an AVX2 loop); all give the same
 * results, the others are for tests. Returns 0, or -1 with libvips' error
 * set.
 */
int cv_lanczos_reduceh(VipsImage *in, VipsImage **out, int output_width, double shrink, double offset,
                       int taps, const int32_t *coefficients, int vectorised);

/*
 * The Lanczos3 step of vips_reducev on an 8-bit image, with the arithmetic
 * of libvips 8.14's vector path (2.6 fixed-point coefficients, 16-bit
 * saturating sums, see the reference), so that the pixels are the same as
 * vips_reducev's without compiling its vector program for every image.
 * Arguments as for cv_lanczos_reduceh, with 2.6 fixed-point coefficients.
 */
int cv_lanczos_reducev(VipsImage *in, VipsImage **out, int output_height, double shrink, double offset,
                       int taps, const int32_t *coefficients, int vectorised);

/*
 * vips_icc_transform(in, out, "srgb", "embedded", TRUE) for an 8-bit RGB
 * image with an embedded RGB profile, with the same pixels and metadata,
 * and the lcms2 transform made once per distinct profile (at most 32 kept,
 * each of at most 64 KiB). Returns 0 with `out` set; 1 where it does not
 * apply (another kind of image or profile, a profile libvips would not use
 * or too large to keep, the table full): use
 * vips_icc_transform then; -1 with libvips' error set.
 */
int cv_icc_to_srgb_cached(VipsImage *in, VipsImage **out);

/* How many profiles' transforms are kept (tests). */
int cv_icc_cached_transforms(void);

#endif
