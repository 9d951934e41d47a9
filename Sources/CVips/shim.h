#ifndef CALOTYPE_CVIPS_SHIM_H
#define CALOTYPE_CVIPS_SHIM_H

/*
 * Fixed-signature wrappers over the libvips calls Calotype makes.
 *
 * Swift imports neither C macros with arguments (VIPS_INIT) nor variadic
 * functions (most of the libvips API), so each call the backend needs is
 * wrapped here once, with its optional arguments spelled out. Every wrapper
 * returns libvips' own status (0 on success) or the new object (NULL on
 * failure); the caller reads the error buffer.
 */

#include <vips/vips.h>

/* ---- Process set-up --------------------------------------------------- */

static inline int cv_init(const char *argv0) { return VIPS_INIT(argv0); }

/* The operation cache helps programs that repeat operations on one image;
 * a server sees a different image every time. */
static inline void cv_cache_off(void) {
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
}

/* libvips reports recoverable oddities (an unknown EXIF unit, a damaged but
 * readable JPEG) as GLib warnings on stderr. A server cannot use them there:
 * Calotype drops them and decides failure from return codes. */
static void cv_discard_log(const gchar *domain, GLogLevelFlags level,
                           const gchar *message, gpointer data) {
    (void)domain; (void)level; (void)message; (void)data;
}

static inline void cv_silence_warnings(void) {
    g_log_set_handler("VIPS", (GLogLevelFlags)(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO),
                      cv_discard_log, NULL);
}

/* Copies and clears libvips' (process-wide) error buffer. g_free the result. */
static inline char *cv_error_take(void) { return vips_error_buffer_copy(); }
/* Adds a line to the error buffer, as libvips' own functions do. */
static inline void cv_error_add(const char *domain, const char *text) { vips_error(domain, "%s", text); }

/* ---- Loading ---------------------------------------------------------- */

/* Opens an encoded image lazily: only the header is read until pixels are
 * needed. `options` is a loader option string such as "shrink=4,fail_on=truncated". */
static inline VipsImage *cv_image_new_from_buffer(const void *buf, size_t len,
                                                  const char *options,
                                                  VipsAccess access) {
    return vips_image_new_from_buffer(buf, len, options, "access", access, NULL);
}

/* Decode + shrink-on-load + resize in one streamed pass. `export_profile` may
 * be NULL (keep the image's colour space). `options` goes to the loader. */
static inline int cv_thumbnail_buffer(void *buf, size_t len, VipsImage **out,
                                      int width, int height, VipsSize size,
                                      VipsInteresting crop, gboolean no_rotate,
                                      const char *export_profile,
                                      const char *options) {
    if (export_profile)
        return vips_thumbnail_buffer(buf, len, out, width, "height", height,
                                     "size", size, "crop", crop,
                                     "no_rotate", no_rotate,
                                     "export_profile", export_profile,
                                     "option_string", options, NULL);
    return vips_thumbnail_buffer(buf, len, out, width, "height", height,
                                 "size", size, "crop", crop,
                                 "no_rotate", no_rotate,
                                 "option_string", options, NULL);
}

/* ---- Geometry --------------------------------------------------------- */

/* Lanczos3, libvips' default kernel. */
static inline int cv_resize(VipsImage *in, VipsImage **out, double hscale, double vscale) {
    return vips_resize(in, out, hscale, "vscale", vscale, NULL);
}

/* The two halves of vips_resize's downsizing, as it calls them (Lanczos3,
 * gap 2): Calotype runs the horizontal Lanczos step itself (CVipsOperations)
 * and asks libvips for the rest. */
static inline int cv_reducev(VipsImage *in, VipsImage **out, double vshrink) {
    return vips_reducev(in, out, vshrink, "kernel", VIPS_KERNEL_LANCZOS3, "gap", 2.0, NULL);
}

static inline int cv_reduceh(VipsImage *in, VipsImage **out, double hshrink) {
    return vips_reduceh(in, out, hshrink, "kernel", VIPS_KERNEL_LANCZOS3, "gap", 2.0, NULL);
}

/* vips_reducev's box pre-shrink. */
static inline int cv_shrinkv(VipsImage *in, VipsImage **out, int vshrink) {
    return vips_shrinkv(in, out, vshrink, "ceil", TRUE, NULL);
}

/* vips_reduceh's box pre-shrink. */
static inline int cv_shrinkh(VipsImage *in, VipsImage **out, int hshrink) {
    return vips_shrinkh(in, out, hshrink, "ceil", TRUE, NULL);
}

static inline int cv_extract_area(VipsImage *in, VipsImage **out,
                                  int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}

static inline int cv_smartcrop(VipsImage *in, VipsImage **out,
                               int width, int height, VipsInteresting interesting) {
    return vips_smartcrop(in, out, width, height, "interesting", interesting, NULL);
}

/* Centres the image on a width x height canvas of colour `background`
 * (one value per band). */
static inline int cv_embed_centre(VipsImage *in, VipsImage **out, int width, int height,
                                  const double *background, int n) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int status = vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, width, height,
                              "extend", VIPS_EXTEND_BACKGROUND,
                              "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return status;
}

/* `in` at `x`, `y` on a `width` x `height` canvas of `background`. */
static inline int cv_embed(VipsImage *in, VipsImage **out, int x, int y, int width, int height,
                           const double *background, int n) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int status = vips_embed(in, out, x, y, width, height,
                            "extend", VIPS_EXTEND_BACKGROUND,
                            "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return status;
}

/* The box of what differs from `background` by more than `threshold`
 * (libvips' find_trim: alpha flattened onto the background, a 3x3 median
 * against noise); a width of 0 when nothing does. */
static inline int cv_find_trim(VipsImage *in, double threshold, const double *background, int n,
                               int *left, int *top, int *width, int *height) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int status = vips_find_trim(in, left, top, width, height,
                                "threshold", threshold, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return status;
}

/* The value of each band at `x`, `y` into `values` (up to `capacity`);
 * the band count, or -1. */
static inline int cv_getpoint(VipsImage *in, int x, int y, double *values, int capacity) {
    double *vector = NULL;
    int n = 0;
    if (vips_getpoint(in, &vector, &n, x, y, NULL)) return -1;
    for (int i = 0; i < n && i < capacity; i++) values[i] = vector[i];
    g_free(vector);
    return n;
}

/* `overlay` over `base` at `x`, `y` (Porter-Duff over, in sRGB). */
static inline int cv_composite_over(VipsImage *base, VipsImage *overlay, VipsImage **out, int x, int y) {
    return vips_composite2(base, overlay, out, VIPS_BLEND_MODE_OVER, "x", x, "y", y, NULL);
}

/* `in` repeated `across` times and `down` times. */
static inline int cv_replicate(VipsImage *in, VipsImage **out, int across, int down) {
    return vips_replicate(in, out, across, down, NULL);
}

/* The last band (alpha) times `factor`, the others unchanged, as uchar. */
static inline int cv_scale_last_band(VipsImage *in, VipsImage **out, double factor) {
    int n = vips_image_get_bands(in);
    double a[16], b[16];
    if (n < 1 || n > 16) return -1;
    for (int i = 0; i < n; i++) { a[i] = 1; b[i] = 0; }
    a[n - 1] = factor;
    return vips_linear(in, out, a, b, n, "uchar", TRUE, NULL);
}

/* Bands `first` ... `first + n - 1` of `in`. */
static inline int cv_extract_bands(VipsImage *in, VipsImage **out, int first, int n) {
    return vips_extract_band(in, out, first, "n", n, NULL);
}

static inline int cv_rot(VipsImage *in, VipsImage **out, VipsAngle angle) {
    return vips_rot(in, out, angle, NULL);
}

static inline int cv_flip(VipsImage *in, VipsImage **out, VipsDirection direction) {
    return vips_flip(in, out, direction, NULL);
}

static inline int cv_autorot(VipsImage *in, VipsImage **out) {
    return vips_autorot(in, out, NULL);
}

/* ---- Filters and colour ----------------------------------------------- */

static inline int cv_gaussblur(VipsImage *in, VipsImage **out, double sigma) {
    return vips_gaussblur(in, out, sigma, NULL);
}

static inline int cv_sharpen(VipsImage *in, VipsImage **out, double sigma) {
    return vips_sharpen(in, out, "sigma", sigma, NULL);
}

/* Pixelate: each size x size block from the top left corner becomes its
 * mean (vips_shrink's box average over the image extended, by copying its
 * edge, to whole blocks), replicated back (vips_zoom) and cut to the image.
 * A block is cut to the image on each side it exceeds: the extended image
 * is then under twice each side, so pixelate=16384 on a 100 x 10 image
 * averages 100 x 10 pixels, not 268 million copies of them. */
static inline int cv_pixelate(VipsImage *in, VipsImage **out, int size) {
    VipsImage *base = vips_image_new();
    VipsImage **t = (VipsImage **) vips_object_local_array(VIPS_OBJECT(base), 3);
    int width = in->Xsize, height = in->Ysize;
    int wide = size < width ? size : width, tall = size < height ? size : height;
    int across = (width + wide - 1) / wide * wide, down = (height + tall - 1) / tall * tall;
    int failed = vips_embed(in, &t[0], 0, 0, across, down, "extend", VIPS_EXTEND_COPY, NULL) ||
                 vips_shrink(t[0], &t[1], (double) wide, (double) tall, NULL) ||
                 vips_zoom(t[1], &t[2], wide, tall, NULL) ||
                 vips_extract_area(t[2], out, 0, 0, width, height, NULL);
    g_object_unref(base);
    return failed ? -1 : 0;
}

static inline int cv_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}

/* Converts an image tagged with an ICC profile to sRGB through that profile. */
static inline int cv_icc_to_srgb(VipsImage *in, VipsImage **out) {
    return vips_icc_transform(in, out, "srgb", "embedded", TRUE, NULL);
}

/* A new image sharing the pixels, with metadata of its own. */
static inline int cv_copy(VipsImage *in, VipsImage **out) {
    return vips_copy(in, out, NULL);
}

/* Tags `image` with libvips' built-in profile `name` ("srgb", "p3",
 * "cmyk"), as a camera tags its photos (tests and self-checks). */
static inline int cv_tag_with_builtin_profile(VipsImage *image, const char *name) {
    VipsBlob *blob = NULL;
    if (vips_profile_load(name, &blob, NULL) || !blob) return -1;
    size_t length = 0;
    const void *data = vips_blob_get(blob, &length);
    vips_image_set_blob_copy(image, "icc-profile-data", data, length);
    vips_area_unref(VIPS_AREA(blob));
    return 0;
}

static inline int cv_cast(VipsImage *in, VipsImage **out, VipsBandFormat format) {
    return vips_cast(in, out, format, NULL);
}

static inline int cv_flatten(VipsImage *in, VipsImage **out, const double *background, int n) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int status = vips_flatten(in, out, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return status;
}

static inline int cv_add_alpha(VipsImage *in, VipsImage **out) {
    return vips_addalpha(in, out, NULL);
}

/* Maps every band of `in` through the matching band of the 256-entry `lut`. */
static inline int cv_maplut(VipsImage *in, VipsImage **out, VipsImage *lut) {
    return vips_maplut(in, out, lut, NULL);
}

/* ---- Animations ------------------------------------------------------- */

/* The `n` frames stacked top to bottom into one strip, as loaders give an
 * animation (`n=-1`) and the GIF and WebP savers take one, with each frame
 * `page_height` rows high (a copy whose metadata is its own: the frames
 * carry the source strip's page height). */
static inline int cv_join_frames(VipsImage **frames, int n, int page_height, VipsImage **out) {
    VipsImage *joined = NULL;
    if (vips_arrayjoin(frames, &joined, n, "across", 1, NULL)) return -1;
    int status = vips_copy(joined, out, NULL);
    g_object_unref(joined);
    if (status) return status;
    vips_image_set_int(*out, "page-height", page_height);
    vips_image_set_int(*out, "n-pages", n);
    return 0;
}

/* ---- Saving ----------------------------------------------------------- */

/* `suffix` selects the saver and its options, e.g. ".jpg[Q=80,strip]".
 * The buffer is g_malloc'd: release it with g_free. */
static inline int cv_write_to_buffer(VipsImage *in, const char *suffix,
                                     void **buf, size_t *len) {
    return vips_image_write_to_buffer(in, suffix, buf, len, NULL);
}

/* Raw pixels, band-interleaved, for tests and the GPU upload. g_free it. */
static inline void *cv_write_to_memory(VipsImage *in, size_t *len) {
    return vips_image_write_to_memory(in, len);
}

/* ---- Memory allocator ------------------------------------------------- */

/* glibc's mallopt, for the settings libvips' maintainers advise servers to
 * change (see AllocatorTuning.swift). 1 on success, 0 when refused, and 0
 * on C libraries other than glibc, which have no such knobs. */
#ifdef __GLIBC__
#include <malloc.h>
enum { CV_MALLOC_ARENA_MAX = M_ARENA_MAX, CV_MALLOC_MMAP_THRESHOLD = M_MMAP_THRESHOLD, CV_MALLOC_TRIM_THRESHOLD = M_TRIM_THRESHOLD };
#else
enum { CV_MALLOC_ARENA_MAX, CV_MALLOC_MMAP_THRESHOLD, CV_MALLOC_TRIM_THRESHOLD };
#endif

/* Whether malloc is glibc's own, so that mallopt tunes the allocator in
 * use: under AddressSanitizer or ThreadSanitizer, or with an allocator
 * preloaded (jemalloc, tcmalloc), malloc is somebody else's and glibc's
 * settings reach nothing. 1 when it is glibc's, else 0. */
#ifdef __GLIBC__
#include <dlfcn.h>
#endif

static inline int cv_malloc_is_glibc(void) {
#ifdef __GLIBC__
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (!libc) return 0;
    void *glibc_malloc = dlsym(libc, "malloc");
    void *process_malloc = dlsym((void *)0 /* RTLD_DEFAULT */, "malloc");
    dlclose(libc);
    return glibc_malloc != NULL && glibc_malloc == process_malloc;
#else
    return 0;
#endif
}

/* glibc's malloc_trim(0): gives the free pages of every arena back to the
 * kernel, not only the top of the main heap (which the trim threshold
 * covers). 1 when memory was released, 0 when none was or on other C
 * libraries. */
static inline int cv_malloc_trim(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}

static inline int cv_mallopt(int parameter, int value) {
#ifdef __GLIBC__
    return mallopt(parameter, value);
#else
    (void)parameter; (void)value;
    return 0;
#endif
}

#endif
