/*
 * Calotype's OpenCL kernels (OpenCL C 1.2).
 *
 * Every kernel works on 8-bit, band-interleaved, tightly packed images
 * (1 to 4 bands), one work-item per output pixel, on a 2-D range rounded up
 * to the work-group size (so each kernel checks its bounds).
 *
 * The arithmetic reproduces libvips 8.14 as Calotype's CPU backend runs it
 * (see shared/reference/libvips-8.14.md): the host computes every table in
 * double precision as libvips does, and the kernels only do the integer
 * multiply-adds, or the same float/double steps in the same order. Nothing
 * here may be contracted into fused multiply-adds.
 */
#pragma OPENCL FP_CONTRACT OFF

#define CLAMP_INDEX(v, n) clamp((v), 0, (n) - 1)

static inline short sat16(int v) { return (short) clamp(v, -32768, 32767); }

/* ---- Geometry ---------------------------------------------------------- */

/* out(x, y) = in(ax*x + bx*y + cx, ay*x + by*y + cy): crop, rotate, flip. */
__kernel void remap(__global const uchar *src, __global uchar *dst,
                    int srcWidth, int dstWidth, int dstHeight, int bands,
                    int ax, int bx, int cx, int ay, int by, int cy) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= dstWidth || y >= dstHeight) return;
    int sx = ax * x + bx * y + cx;
    int sy = ay * x + by * y + cy;
    __global const uchar *p = src + ((size_t) sy * srcWidth + sx) * bands;
    __global uchar *q = dst + ((size_t) y * dstWidth + x) * bands;
    for (int b = 0; b < bands; b++) q[b] = p[b];
}

/* Places the image at (left, top) on a canvas of the background colour;
 * with dstBands == srcBands + 1 an opaque alpha band is added. */
__kernel void embed(__global const uchar *src, __global uchar *dst,
                    int srcWidth, int srcHeight, int srcBands,
                    int dstWidth, int dstHeight, int dstBands,
                    int left, int top, int4 background) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= dstWidth || y >= dstHeight) return;
    int bg[4] = { background.x, background.y, background.z, background.w };
    __global uchar *q = dst + ((size_t) y * dstWidth + x) * dstBands;
    int sx = x - left, sy = y - top;
    if (sx < 0 || sy < 0 || sx >= srcWidth || sy >= srcHeight) {
        for (int b = 0; b < dstBands; b++) q[b] = (uchar) bg[b];
        return;
    }
    __global const uchar *p = src + ((size_t) sy * srcWidth + sx) * srcBands;
    for (int b = 0; b < dstBands; b++) q[b] = b < srcBands ? p[b] : (uchar) 255;
}

/* ---- Resize ------------------------------------------------------------ */

/* Box average of `k` rows (indices past the end repeat the last row), on
 * runs of 16 samples. */
__kernel void box_v(__global const uchar *src, __global uchar *dst,
                    int width, int height, int outHeight, int bands, int k) {
    int s0 = get_global_id(0) * 16, y = get_global_id(1);
    int rowSamples = width * bands;
    if (s0 >= rowSamples || y >= outHeight) return;
    __global uchar *out = dst + (size_t) y * rowSamples;
    if (s0 + 16 <= rowSamples) {
        int16 sum = (int16) 0;
        for (int i = 0; i < k; i++) {
            int sy = min(y * k + i, height - 1);
            sum += convert_int16(vload16(0, src + (size_t) sy * rowSamples + s0));
        }
        vstore16(convert_uchar16((sum + k / 2) / k), 0, out + s0);
        return;
    }
    for (int s = s0; s < rowSamples; s++) {
        int sum = 0;
        for (int i = 0; i < k; i++) sum += src[(size_t) min(y * k + i, height - 1) * rowSamples + s];
        out[s] = (uchar) ((sum + k / 2) / k);
    }
}

__kernel void box_h(__global const uchar *src, __global uchar *dst,
                    int width, int height, int outWidth, int bands, int k) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= outWidth || y >= height) return;
    for (int b = 0; b < bands; b++) {
        int sum = 0;
        for (int i = 0; i < k; i++) {
            int sx = min(x * k + i, width - 1);
            sum += src[((size_t) y * width + sx) * bands + b];
        }
        dst[((size_t) y * outWidth + x) * bands + b] = (uchar) ((sum + k / 2) / k);
    }
}

/* Lanczos reduction along y. `table` holds, at `positions`, two ints per
 * output row (first input row, phase) and, at `coefficients`, 65 phases of
 * n coefficients in 2.6 fixed point; the sum is kept in signed 16 bits with
 * saturation, starting from 32, as libvips' vector path does. Work-items
 * take runs of 16 samples of a row (every sample of a row uses the same
 * rows and coefficients). */
__kernel void reduce_v(__global const uchar *src, __global uchar *dst,
                       int width, int height, int outHeight, int bands, int n,
                       __global const int *table, int positions, int coefficients) {
    int s0 = get_global_id(0) * 16, y = get_global_id(1);
    int rowSamples = width * bands;
    if (s0 >= rowSamples || y >= outHeight) return;
    int first = table[positions + 2 * y];
    __global const int *c = table + coefficients + table[positions + 2 * y + 1] * n;
    __global uchar *out = dst + (size_t) y * rowSamples;
    if (s0 + 16 <= rowSamples) {
        short16 sum = (short16) ((short) 32);
        for (int i = 0; i < n; i++) {
            int sy = CLAMP_INDEX(first + i, height);
            short16 value = convert_short16(vload16(0, src + (size_t) sy * rowSamples + s0)) * (short) c[i];
            sum = add_sat(sum, value);
        }
        vstore16(convert_uchar16_sat(sum >> (short16) ((short) 6)), 0, out + s0);
        return;
    }
    for (int s = s0; s < rowSamples; s++) {
        short sum = 32;
        for (int i = 0; i < n; i++) {
            int sy = CLAMP_INDEX(first + i, height);
            short value = (short) (src[(size_t) sy * rowSamples + s] * c[i]);
            sum = sat16(sum + value);
        }
        out[s] = (uchar) clamp(sum >> 6, 0, 255);
    }
}

/* Lanczos reduction along x with 12-bit coefficients. */
__kernel void reduce_h(__global const uchar *src, __global uchar *dst,
                       int width, int height, int outWidth, int bands, int n,
                       __global const int *table, int positions, int coefficients) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= outWidth || y >= height) return;
    int first = table[positions + 2 * x];
    __global const int *c = table + coefficients + table[positions + 2 * x + 1] * n;
    __global const uchar *row = src + (size_t) y * width * bands;
    for (int b = 0; b < bands; b++) {
        int sum = 0;
        for (int i = 0; i < n; i++) {
            int sx = CLAMP_INDEX(first + i, width);
            sum += c[i] * row[sx * bands + b];
        }
        dst[((size_t) y * outWidth + x) * bands + b] = (uchar) clamp((sum + 2048) >> 12, 0, 255);
    }
}

/* ---- Convolution (Gaussian blur) --------------------------------------- */

/* The convolution kernels work on runs of 16 samples, not pixels:
 * work-item (c, y) computes samples 16c ... 16c + 15 of row y, with vector
 * loads wherever the whole run and its neighbourhood lie inside the row
 * (explicit SIMD on CPUs such as PoCL's, coalesced loads on GPUs), and
 * sample by sample at the edges. The horizontal pass steps by whole pixels
 * (`bands` samples) along the row, the vertical pass by rows. */
#define RUN 16

static inline size_t conv_source(int s, int y, int i, int width, int height, int bands, int centre, int horizontal) {
    if (horizontal) {
        int x = s / bands;
        int b = s - x * bands;
        int sx = CLAMP_INDEX(x + i - centre, width);
        return (size_t) y * width * bands + (size_t) sx * bands + b;
    }
    int sy = CLAMP_INDEX(y + i - centre, height);
    return (size_t) sy * width * bands + s;
}

/* Whether the run at s0 and every tap it reads lie inside the row. */
static inline bool run_inside(int s0, int rowSamples, int centre, int bands, int n, int horizontal) {
    if (s0 + RUN > rowSamples) return false;
    if (!horizontal) return true;
    return s0 - centre * bands >= 0 && s0 + RUN - 1 + (n - 1 - centre) * bands < rowSamples;
}

static inline __global const uchar *run_source(__global const uchar *src, int s0, int y, int i, int rowSamples,
                                               int height, int bands, int centre, int horizontal) {
    if (horizontal) return src + (size_t) y * rowSamples + s0 + (i - centre) * bands;
    return src + (size_t) CLAMP_INDEX(y + i - centre, height) * rowSamples + s0;
}

/* libvips' vector convolution: 8-bit mantissas with a shared exponent; each
 * product is rounded and shifted by `sexp` in 16 bits before a saturating
 * 16-bit add, the sum is shifted by `exponent` at the end. */
__kernel void conv_vector(__global const uchar *src, __global uchar *dst,
                          int width, int height, int bands, int n, int horizontal,
                          __global const int *table, int mantissas, int sexp, int exponent) {
    int s0 = get_global_id(0) * RUN, y = get_global_id(1);
    int rowSamples = width * bands;
    if (s0 >= rowSamples || y >= height) return;
    int centre = n / 2;
    short rounding = (short) (1 << (sexp - 1));
    __global uchar *out = dst + (size_t) y * rowSamples;
    if (run_inside(s0, rowSamples, centre, bands, n, horizontal)) {
        short16 sum = (short16) ((short) (1 << (exponent - 1)));
        for (int i = 0; i < n; i++) {
            short q = (short) table[mantissas + i];
            if (q == 0) continue;
            short16 value = convert_short16(vload16(0, run_source(src, s0, y, i, rowSamples, height, bands, centre, horizontal))) * q;
            value = (value + rounding) >> (short16) ((short) sexp);
            sum = add_sat(sum, value);
        }
        vstore16(convert_uchar16_sat(sum >> (short16) ((short) exponent)), 0, out + s0);
        return;
    }
    for (int s = s0; s < min(s0 + RUN, rowSamples); s++) {
        short sum = (short) (1 << (exponent - 1));
        for (int i = 0; i < n; i++) {
            int q = table[mantissas + i];
            if (q == 0) continue;
            short value = (short) (src[conv_source(s, y, i, width, height, bands, centre, horizontal)] * q);
            value = (short) ((short) (value + rounding) >> sexp);
            sum = sat16(sum + value);
        }
        out[s] = (uchar) clamp(sum >> exponent, 0, 255);
    }
}

/* libvips' C convolution: integer mask, (sum + scale/2) / scale. */
__kernel void conv_int(__global const uchar *src, __global uchar *dst,
                       int width, int height, int bands, int n, int horizontal,
                       __global const int *table, int coefficients, int scale) {
    int s0 = get_global_id(0) * RUN, y = get_global_id(1);
    int rowSamples = width * bands;
    if (s0 >= rowSamples || y >= height) return;
    int centre = n / 2;
    __global uchar *out = dst + (size_t) y * rowSamples;
    if (run_inside(s0, rowSamples, centre, bands, n, horizontal)) {
        int16 sum = (int16) 0;
        for (int i = 0; i < n; i++)
            sum += convert_int16(vload16(0, run_source(src, s0, y, i, rowSamples, height, bands, centre, horizontal))) * table[coefficients + i];
        vstore16(convert_uchar16_sat((sum + scale / 2) / scale), 0, out + s0);
        return;
    }
    for (int s = s0; s < min(s0 + RUN, rowSamples); s++) {
        int sum = 0;
        for (int i = 0; i < n; i++)
            sum += table[coefficients + i] * src[conv_source(s, y, i, width, height, bands, centre, horizontal)];
        out[s] = (uchar) clamp((sum + scale / 2) / scale, 0, 255);
    }
}

/* The same on one band of signed shorts (sharpen's lightness). */
__kernel void conv_short(__global const short *src, __global short *dst,
                         int width, int height, int n, int horizontal,
                         __global const int *table, int coefficients, int scale) {
    int s0 = get_global_id(0) * RUN, y = get_global_id(1);
    if (s0 >= width || y >= height) return;
    int centre = n / 2;
    __global short *out = dst + (size_t) y * width;
    if (run_inside(s0, width, centre, 1, n, horizontal)) {
        int16 sum = (int16) 0;
        for (int i = 0; i < n; i++) {
            __global const short *p = horizontal ? src + (size_t) y * width + s0 + (i - centre)
                                                 : src + (size_t) CLAMP_INDEX(y + i - centre, height) * width + s0;
            sum += convert_int16(vload16(0, p)) * table[coefficients + i];
        }
        vstore16(convert_short16_sat((sum + scale / 2) / scale), 0, out + s0);
        return;
    }
    for (int s = s0; s < min(s0 + RUN, width); s++) {
        int sum = 0;
        for (int i = 0; i < n; i++) {
            int sx = horizontal ? CLAMP_INDEX(s + i - centre, width) : s;
            int sy = horizontal ? y : CLAMP_INDEX(y + i - centre, height);
            sum += table[coefficients + i] * src[(size_t) sy * width + sx];
        }
        out[s] = sat16((sum + scale / 2) / scale);
    }
}

/* ---- Adjust ------------------------------------------------------------ */

/* Maps the colour bands through a 256-entry table; alpha is untouched. */
__kernel void lookup(__global const uchar *src, __global uchar *dst,
                     int width, int height, int bands, int colourBands,
                     __global const int *table, int lut) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= width || y >= height) return;
    size_t base = ((size_t) y * width + x) * bands;
    for (int b = 0; b < bands; b++)
        dst[base + b] = b < colourBands ? (uchar) table[lut + src[base + b]] : src[base + b];
}

/* ---- Colour (needs double precision, as libvips computes it) ----------- */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

/* Linear light to 8 bits through libvips' 257-entry table. */
static inline int encode_8(__global const int *Y2v, float value) {
    float Yf = value * 255;
    if (Yf < 0) Yf = 0;
    else if (Yf > 255) Yf = 255;
    int Yi = (int) Yf;
    float v = (float) Y2v[Yi] + (float) (Y2v[Yi + 1] - Y2v[Yi]) * (Yf - (float) Yi);
    return (int) rint(v);
}

static inline int linear_to_grey(__global const int *Y2v, float R, float G, float B) {
    float Y = (float) (0.2 * (double) R + 0.7 * (double) G + 0.1 * (double) B);
    return encode_8(Y2v, Y);
}

/* sRGB (3 or 4 bands) to grey (1 or 2 bands), libvips' B_W. */
__kernel void grey(__global const uchar *src, __global uchar *dst,
                   int width, int height, int bands,
                   __global const float *v2Y, __global const int *Y2v) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= width || y >= height) return;
    size_t i = (size_t) y * width + x;
    __global const uchar *p = src + i * bands;
    int outBands = bands - 2;
    __global uchar *q = dst + i * outBands;
    q[0] = (uchar) linear_to_grey(Y2v, v2Y[p[0]], v2Y[p[1]], v2Y[p[2]]);
    if (outBands == 2) q[1] = p[3];
}

/* sRGB (or grey) to LabS as libvips: v2Y table, matrix to XYZ, the cube
 * root table with linear interpolation, then scaled to shorts. */
static inline void to_labs(__global const uchar *p, int colourBands,
                           __global const float *v2Y, __global const float *cbrtTable,
                           short *Ls, short *as, short *bs) {
    float R = v2Y[p[0]];
    float G = colourBands == 1 ? R : v2Y[p[1]];
    float B = colourBands == 1 ? R : v2Y[p[2]];
    float X = (float) ((100.0 * 0.4124) * (double) R + (100.0 * 0.3576) * (double) G + (100.0 * 0.18056) * (double) B);
    float Y = (float) ((100.0 * 0.2126) * (double) R + (100.0 * 0.7152) * (double) G + (100.0 * 0.07220) * (double) B);
    float Z = (float) ((100.0 * 0.0193) * (double) R + (100.0 * 0.1192) * (double) G + (100.0 * 0.9505) * (double) B);
    float n3[3] = {
        (float) ((double) (100000.0f * X) / 95.0470),
        (float) ((double) (100000.0f * Y) / 100.0),
        (float) ((double) (100000.0f * Z) / 108.8827),
    };
    float cb[3];
    for (int k = 0; k < 3; k++) {
        int i = clamp((int) n3[k], 0, 100000 - 2);
        float f = n3[k] - (float) i;
        cb[k] = cbrtTable[i] + f * (cbrtTable[i + 1] - cbrtTable[i]);
    }
    float L = (float) (116.0 * (double) cb[1] - 16.0);
    float a = (float) (500.0 * (double) (cb[0] - cb[1]));
    float b = (float) (200.0 * (double) (cb[1] - cb[2]));
    *Ls = (short) (int) ((double) L * (32767.0 / 100.0));
    *as = (short) (int) ((double) a * (32768.0 / 128.0));
    *bs = (short) (int) ((double) b * (32768.0 / 128.0));
}

/* Sharpen, step 1: LabS, one plane of shorts per channel. */
__kernel void sharpen_lightness(__global const uchar *src, __global short *lightness,
                                __global short *planeA, __global short *planeB,
                                int width, int height, int bands, int colourBands,
                                __global const float *v2Y, __global const float *cbrtTable) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= width || y >= height) return;
    size_t i = (size_t) y * width + x;
    short L, a, b;
    to_labs(src + i * bands, colourBands, v2Y, cbrtTable, &L, &a, &b);
    lightness[i] = L;
    planeA[i] = a;
    planeB[i] = b;
}

/* Sharpen, step 2: L' = L + curve(L - blurred L), then back to sRGB (or
 * grey) through Lab, XYZ and linear light, as libvips. */
__kernel void sharpen_apply(__global const uchar *src, __global const short *lightness,
                            __global const short *planeA, __global const short *planeB,
                            __global const short *blurred, __global uchar *dst,
                            int width, int height, int bands, int colourBands,
                            __global const int *Y2v, __global const int *curve) {
    int x = get_global_id(0), y = get_global_id(1);
    if (x >= width || y >= height) return;
    size_t i = (size_t) y * width + x;
    __global const uchar *p = src + i * bands;
    short as = planeA[i], bs = planeB[i];
    int v1 = lightness[i], v2 = blurred[i];
    int diff = (v1 & 0x7fff) - (v2 & 0x7fff);
    int sharpened = clamp(v1 + curve[diff + 32768], 0, 32767);

    float L = (float) ((double) sharpened / (32767.0 / 100.0));
    float a = (float) ((double) as / (32768.0 / 128.0));
    float b = (float) ((double) bs / (32768.0 / 128.0));

    double cby, tmp;
    float X, Y, Z;
    if (L < 8.0) {
        Y = (float) (((double) L * 100.0) / 903.3);
        cby = 7.787 * ((double) Y / 100.0) + 16.0 / 116.0;
    } else {
        cby = ((double) L + 16.0) / 116.0;
        Y = (float) (100.0 * cby * cby * cby);
    }
    tmp = (double) a / 500.0 + cby;
    X = tmp < 0.2069 ? (float) (95.0470 * (tmp - 0.13793) / 7.787) : (float) (95.0470 * tmp * tmp * tmp);
    tmp = cby - (double) b / 200.0;
    Z = tmp < 0.2069 ? (float) (108.8827 * (tmp - 0.13793) / 7.787) : (float) (108.8827 * tmp * tmp * tmp);

    float R = (float) ((3.2406 / 100.0) * (double) X + (-1.5372 / 100.0) * (double) Y + (-0.4986 / 100.0) * (double) Z);
    float G = (float) ((-0.9689 / 100.0) * (double) X + (1.8758 / 100.0) * (double) Y + (0.0415 / 100.0) * (double) Z);
    float B = (float) ((0.0557 / 100.0) * (double) X + (-0.2040 / 100.0) * (double) Y + (1.0570 / 100.0) * (double) Z);

    __global uchar *q = dst + i * bands;
    if (colourBands == 1) {
        q[0] = (uchar) linear_to_grey(Y2v, R, G, B);
    } else {
        q[0] = (uchar) encode_8(Y2v, R);
        q[1] = (uchar) encode_8(Y2v, G);
        q[2] = (uchar) encode_8(Y2v, B);
    }
    for (int k = colourBands; k < bands; k++) q[k] = p[k];
}
#endif
