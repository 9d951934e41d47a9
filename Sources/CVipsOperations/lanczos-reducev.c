/*
 * The Lanczos3 step of vips_reducev with libvips 8.14's arithmetic as its
 * vector path runs it (shared/reference/libvips-8.14.md): coefficients in
 * 2.6 fixed point, `(32 + sum c*p) >> 6` with each product cut to 16 bits
 * and the sum kept in signed 16 bits, saturating, tap by tap; each output
 * row's position computed afresh; edge rows repeated.
 *
 * libvips compiles that vector program (orc) for every image it reduces;
 * here it is a fixed loop: AVX2 (32 samples of a row at a time) where the
 * processor has it, else SSE2 (16). 640x400 to 320 rows: 0.73 ms in
 * vips_reducev, 0.24 ms here; 1280x800 to 500: 1.63 against 0.72 ms (one
 * run, this project's 2-core machine).
 */
#include "CVipsOperations.h"
#include "lazy-operation.h"

#include <string.h>

typedef struct {
    int input_height;
    int taps;
    double shrink;
    double offset;
    int vectorised;
    int avx2;
    int16_t *coefficients; /* 65 phases x taps */
} Reduction;

static inline double position(const Reduction *r, int y) { return (y + 0.5) * r->shrink - 0.5 - r->offset; }

static inline int16_t saturate16(int value) { return (int16_t)(value < -32768 ? -32768 : value > 32767 ? 32767 : value); }

static void reduce_samples_scalar(const VipsPel *const *rows, const int16_t *c, int taps, VipsPel *q, int from, int to) {
    for (int s = from; s < to; s++) {
        int16_t sum = 32;
        for (int i = 0; i < taps; i++) sum = saturate16(sum + (int16_t)(rows[i][s] * c[i]));
        const int value = sum >> 6;
        q[s] = (VipsPel)(value < 0 ? 0 : value > 255 ? 255 : value);
    }
}

#if CV_HAVE_SSE2 && defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CV_HAVE_AVX2_PATH 1
/* 32 samples at a time where the processor has AVX2 (chosen at run time:
 * the build targets the x86-64 baseline). Returns the samples done. */
__attribute__((target("avx2"))) static int reduce_samples_avx2(const VipsPel *const *rows, const int16_t *c, int taps,
                                                               VipsPel *q, int samples) {
    __m256i weights[CV_MAX_TAPS];
    for (int i = 0; i < taps; i++) weights[i] = _mm256_set1_epi16(c[i]);
    const __m256i start = _mm256_set1_epi16(32);
    int s = 0;
    for (; s + 32 <= samples; s += 32) {
        __m256i low_sum = start, high_sum = start;
        for (int i = 0; i < taps; i++) {
            const __m256i pixels = _mm256_loadu_si256((const __m256i *)(rows[i] + s));
            const __m256i zero = _mm256_setzero_si256();
            /* Within each 128-bit lane: bytes 0-7 and 8-15 widened. */
            low_sum = _mm256_adds_epi16(low_sum, _mm256_mullo_epi16(_mm256_unpacklo_epi8(pixels, zero), weights[i]));
            high_sum = _mm256_adds_epi16(high_sum, _mm256_mullo_epi16(_mm256_unpackhi_epi8(pixels, zero), weights[i]));
        }
        low_sum = _mm256_srai_epi16(low_sum, 6);
        high_sum = _mm256_srai_epi16(high_sum, 6);
        /* packus undoes the per-lane unpack: the bytes come back in order. */
        _mm256_storeu_si256((__m256i *)(q + s), _mm256_packus_epi16(low_sum, high_sum));
    }
    return s;
}
#else
#define CV_HAVE_AVX2_PATH 0
#endif

static int reducev_generate(VipsRegion *out_region, void *seq, void *a, void *b, gboolean *stop) {
    VipsRegion *input = (VipsRegion *)seq;
    VipsImage *in = (VipsImage *)a;
    const Reduction *r = (const Reduction *)b;
    const VipsRect *area = &out_region->valid;
    const int samples = area->width * in->Bands;
    (void)stop;

    const int low = cv_first_tap(position(r, area->top), r->taps);
    const int high = cv_first_tap(position(r, area->top + area->height - 1), r->taps) + r->taps;
    VipsRect need = {area->left, low, area->width, high - low};
    const VipsRect whole = {0, 0, in->Xsize, in->Ysize};
    vips_rect_intersectrect(&need, &whole, &need);
    if (vips_rect_isempty(&need)) {
        need.top = low < 0 ? 0 : in->Ysize - 1;
        need.height = 1;
        need.left = area->left;
        need.width = area->width;
    }
    if (vips_region_prepare(input, &need)) return -1;

    const VipsPel *rows[CV_MAX_TAPS];
    for (int y = 0; y < area->height; y++) {
        const double Y = position(r, area->top + y);
        const int first = cv_first_tap(Y, r->taps);
        for (int i = 0; i < r->taps; i++) {
            int row = first + i;
            row = row < need.top ? need.top : row >= need.top + need.height ? need.top + need.height - 1 : row;
            rows[i] = VIPS_REGION_ADDR(input, area->left, row);
        }
        const int16_t *c = r->coefficients + (size_t)cv_phase(Y) * r->taps;
        VipsPel *q = VIPS_REGION_ADDR(out_region, area->left, area->top + y);
        int s = 0;
#if CV_HAVE_SSE2
        if (r->vectorised) {
#if CV_HAVE_AVX2_PATH
            if (r->avx2) s = reduce_samples_avx2(rows, c, r->taps, q, samples);
#endif
            __m128i weights[CV_MAX_TAPS];
            for (int i = 0; i < r->taps; i++) weights[i] = _mm_set1_epi16(c[i]);
            const __m128i zero = _mm_setzero_si128();
            const __m128i start = _mm_set1_epi16(32);
            /* 16 samples at a time: two sums of 8 from one 16-byte load per row. */
            for (; s + 16 <= samples; s += 16) {
                __m128i low_sum = start, high_sum = start;
                for (int i = 0; i < r->taps; i++) {
                    const __m128i pixels = _mm_loadu_si128((const __m128i *)(rows[i] + s));
                    low_sum = _mm_adds_epi16(low_sum, _mm_mullo_epi16(_mm_unpacklo_epi8(pixels, zero), weights[i]));
                    high_sum = _mm_adds_epi16(high_sum, _mm_mullo_epi16(_mm_unpackhi_epi8(pixels, zero), weights[i]));
                }
                low_sum = _mm_srai_epi16(low_sum, 6);
                high_sum = _mm_srai_epi16(high_sum, 6);
                _mm_storeu_si128((__m128i *)(q + s), _mm_packus_epi16(low_sum, high_sum));
            }
            for (; s + 8 <= samples; s += 8) {
                __m128i sum = start;
                for (int i = 0; i < r->taps; i++) {
                    const __m128i pixels = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(rows[i] + s)), zero);
                    sum = _mm_adds_epi16(sum, _mm_mullo_epi16(pixels, weights[i]));
                }
                sum = _mm_srai_epi16(sum, 6);
                _mm_storel_epi64((__m128i *)(q + s), _mm_packus_epi16(sum, sum));
            }
        }
#endif
        reduce_samples_scalar(rows, c, r->taps, q, s, samples);
    }
    return 0;
}

int cv_lanczos_reducev(VipsImage *in, VipsImage **out, int output_height, double shrink, double offset,
                       int taps, const int32_t *coefficients, int vectorised) {
    *out = NULL;
    if (cv_check_reduction("cv_lanczos_reducev", in, 4, output_height, shrink, taps)) return -1;
    for (int i = 0; i < (CV_PHASES + 1) * taps; i++) {
        if (coefficients[i] < -32768 || coefficients[i] > 32767) {
            vips_error("cv_lanczos_reducev", "%s", "coefficient out of range");
            return -1;
        }
    }
    if (!(*out = cv_new_output(in))) return -1;
    (*out)->Ysize = output_height;

    Reduction *r = VIPS_NEW(VIPS_OBJECT(*out), Reduction);
    int16_t *table = VIPS_ARRAY(VIPS_OBJECT(*out), (size_t)(CV_PHASES + 1) * taps, int16_t);
    if (!r || !table) {
        VIPS_UNREF(*out);
        return -1;
    }
    for (int i = 0; i < (CV_PHASES + 1) * taps; i++) table[i] = (int16_t)coefficients[i];
    r->input_height = in->Ysize;
    r->taps = taps;
    r->shrink = shrink;
    r->offset = offset;
    r->vectorised = vectorised && CV_HAVE_SSE2;
#if CV_HAVE_AVX2_PATH
    r->avx2 = vectorised >= 2 && r->vectorised && __builtin_cpu_supports("avx2");
#else
    r->avx2 = 0;
#endif
    r->coefficients = table;

    if (cv_generate_from(out, in, vips_start_one, reducev_generate, vips_stop_one, r)) return -1;
    vips_reorder_margin_hint(*out, taps);

    /* As vips_reducev does: on a streamed (sequential) input, a thread that
     * stalls on an early strip while another runs ahead would ask for rows
     * the decoder's line cache has already dropped ("out of order read").
     * A line cache on the output keeps the recent reduced rows instead. */
    if (vips_image_get_typeof(in, VIPS_META_SEQUENTIAL)) {
        VipsImage *cached = NULL;
        const int status = vips_sequential(*out, &cached, "tile_height", 10, NULL);
        g_object_unref(*out);
        *out = status ? NULL : cached;
        if (status) return -1;
    }
    return 0;
}
