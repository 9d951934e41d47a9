#ifndef CALOTYPE_LAZY_OPERATION_H
#define CALOTYPE_LAZY_OPERATION_H

/*
 * What Calotype's operations share: libvips' Lanczos tables' positions and
 * phases, and the making of a lazy output image computed from an input by a
 * generate function, as libvips' own operations are.
 */

#include <vips/vips.h>

/* SSE2 is part of x86-64: the loops use it wherever the build targets it. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define CV_HAVE_SSE2 1
#else
#define CV_HAVE_SSE2 0
#endif

/* libvips' coefficient tables have 65 phases (VIPS_TRANSFORM_SCALE + 1). */
#define CV_PHASES 64
#define CV_MAX_TAPS 101

/* The input index of the first tap for an output pixel at `position` (in
 * input coordinates), and its phase, as libvips computes them. */
static inline int cv_first_tap(double position, int taps) { return (int)position - (taps - 1) / 2; }
static inline int cv_phase(double position) {
    return ((((int)(position * CV_PHASES * 2)) & (CV_PHASES * 2 - 1)) + 1) >> 1;
}

/* The arguments of a Lanczos step checked: an 8-bit image of 1 to
 * `max_bands` bands, a sane number of taps, a real reduction. */
static inline int cv_check_reduction(const char *name, VipsImage *in, int max_bands, int output_length, double shrink, int taps) {
    if (in->BandFmt != VIPS_FORMAT_UCHAR || in->Coding != VIPS_CODING_NONE || in->Bands < 1 || in->Bands > max_bands) {
        vips_error(name, "8-bit images of 1 to %d bands only", max_bands);
        return -1;
    }
    if (taps < 1 || taps > CV_MAX_TAPS || output_length < 1 || !(shrink > 1.0)) {
        vips_error(name, "%s", "bad reduction");
        return -1;
    }
    return 0;
}

/* A new image with `in`'s header and metadata, demanded in full-width strips;
 * NULL with libvips' error set. */
static inline VipsImage *cv_new_output(VipsImage *in) {
    VipsImage *out = vips_image_new();
    if (vips_image_pipelinev(out, VIPS_DEMAND_STYLE_THINSTRIP, in, NULL)) {
        VIPS_UNREF(out);
        return NULL;
    }
    return out;
}

/* Makes `*out` computed from `in` by `generate` with `b`. The output reads
 * `in` lazily, after the caller may have dropped it, so it holds a reference
 * for as long as it lives. On failure `*out` is released and NULL. */
static inline int cv_generate_from(VipsImage **out, VipsImage *in, VipsStartFn start, VipsGenerateFn generate, VipsStopFn stop,
                                   void *b) {
    g_object_ref(in);
    vips_object_local(*out, in);
    if (vips_image_generate(*out, start, generate, stop, in, b)) {
        VIPS_UNREF(*out);
        return -1;
    }
    return 0;
}

#endif
