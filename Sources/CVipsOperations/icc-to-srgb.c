/*
 * The conversion of an ICC-tagged RGB image to sRGB, computed exactly as
 * libvips 8.14's vips_icc_transform(in, "srgb", embedded) computes it (one
 * lcms2 transform from the embedded profile to libvips' built-in sRGB
 * profile, 8 bits in and out, relative colorimetric, no black point
 * compensation, cmsFLAGS_NOCACHE; cmsDoTransform line by line), with the
 * lcms2 transform made once per distinct profile and kept.
 *
 * libvips builds the transform for every image, and building it is most of
 * the conversion's cost: reversing the output profile's tone curves alone
 * (cmsReverseToneCurveEx) was 2.3% of a thumbnail server's CPU on a photo
 * set where 4 of 24 photos carry a profile, about 3 ms per tagged photo.
 * Photos from phones and cameras nearly all carry one of a few profiles.
 */
#include "CVipsOperations.h"
#include "lazy-operation.h"

#include <lcms2.h>
#include <string.h>

/* Distinct profiles kept. A transform is never freed once made (images
 * being computed may use it), so the table is bounded: once full, new
 * profiles go to libvips' own, uncached operation. */
#define CV_CACHED_TRANSFORMS 32

/* Profiles kept are at most this large (a camera's or phone's RGB profile is
 * 0.5-4 KiB), so that images carrying large made-up profiles cannot hold
 * more than 32 x 64 KiB here for the life of the process. */
#define CV_CACHED_PROFILE_BYTES (64 << 10)

typedef struct {
    size_t length;
    void *bytes;
    cmsHTRANSFORM transform;
} CachedTransform;

static GMutex cache_lock;
static CachedTransform cache[CV_CACHED_TRANSFORMS];
static int cache_count;
static void *srgb_bytes;
static size_t srgb_length;

/* libvips' built-in sRGB profile, the one vips_icc_transform's "srgb" names. */
static int load_srgb_locked(void) {
    if (srgb_bytes) return 0;
    VipsBlob *blob = NULL;
    if (vips_profile_load("srgb", &blob, NULL) || !blob) return -1;
    size_t length = 0;
    const void *data = vips_blob_get(blob, &length);
    srgb_bytes = g_memdup2(data, length);
    srgb_length = length;
    vips_area_unref(VIPS_AREA(blob));
    return 0;
}

/* The transform libvips would build for this profile, or NULL where libvips
 * would not use the profile as it stands (another colour space, an intent
 * it does not support) and so takes another path. */
static cmsHTRANSFORM make_transform(const void *bytes, size_t length) {
    cmsHPROFILE input = cmsOpenProfileFromMem(bytes, (cmsUInt32Number)length);
    if (!input) return NULL;
    cmsHTRANSFORM transform = NULL;
    cmsHPROFILE output = cmsOpenProfileFromMem(srgb_bytes, (cmsUInt32Number)srgb_length);
    if (output && cmsGetColorSpace(input) == cmsSigRgbData && cmsGetColorSpace(output) == cmsSigRgbData &&
        cmsIsIntentSupported(input, INTENT_RELATIVE_COLORIMETRIC, LCMS_USED_AS_INPUT) &&
        cmsIsIntentSupported(output, INTENT_RELATIVE_COLORIMETRIC, LCMS_USED_AS_OUTPUT)) {
        transform = cmsCreateTransform(input, TYPE_RGB_8, output, TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOCACHE);
    }
    if (output) cmsCloseProfile(output);
    cmsCloseProfile(input);
    return transform;
}

/* The cached transform for `bytes`, made on first use; NULL when there is
 * none to be had (see make_transform), the profile is too large to keep or
 * the table is full. */
static cmsHTRANSFORM cached_transform(const void *bytes, size_t length) {
    cmsHTRANSFORM found = NULL;
    g_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_count && !found; i++) {
        if (cache[i].length == length && memcmp(cache[i].bytes, bytes, length) == 0) found = cache[i].transform;
    }
    if (!found && cache_count < CV_CACHED_TRANSFORMS && length <= CV_CACHED_PROFILE_BYTES && load_srgb_locked() == 0) {
        found = make_transform(bytes, length);
        if (found) {
            cache[cache_count].bytes = g_memdup2(bytes, length);
            cache[cache_count].length = length;
            cache[cache_count].transform = found;
            cache_count++;
        }
    }
    g_mutex_unlock(&cache_lock);
    return found;
}

int cv_icc_cached_transforms(void) {
    g_mutex_lock(&cache_lock);
    const int count = cache_count;
    g_mutex_unlock(&cache_lock);
    return count;
}

static int icc_generate(VipsRegion *out_region, void *seq, void *a, void *b, gboolean *stop) {
    VipsRegion *input = (VipsRegion *)seq;
    cmsHTRANSFORM transform = (cmsHTRANSFORM)b;
    const VipsRect *area = &out_region->valid;
    (void)a;
    (void)stop;
    if (vips_region_prepare(input, area)) return -1;
    for (int y = 0; y < area->height; y++) {
        cmsDoTransform(transform, VIPS_REGION_ADDR(input, area->left, area->top + y),
                       VIPS_REGION_ADDR(out_region, area->left, area->top + y), (cmsUInt32Number)area->width);
    }
    return 0;
}

int cv_icc_to_srgb_cached(VipsImage *in, VipsImage **out) {
    *out = NULL;
    if (in->BandFmt != VIPS_FORMAT_UCHAR || in->Coding != VIPS_CODING_NONE || in->Bands != 3 ||
        in->Type == VIPS_INTERPRETATION_CMYK || !vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
        return 1;
    }
    const void *bytes = NULL;
    size_t length = 0;
    if (vips_image_get_blob(in, VIPS_META_ICC_NAME, &bytes, &length) || !bytes || length == 0) {
        vips_error_clear();
        return 1;
    }
    cmsHTRANSFORM transform = cached_transform(bytes, length);
    if (!transform) return 1;

    if (!(*out = cv_new_output(in))) return -1;
    (*out)->Type = VIPS_INTERPRETATION_sRGB;
    /* As libvips does, the result carries the profile it is now in. */
    vips_image_set_blob_copy(*out, VIPS_META_ICC_NAME, srgb_bytes, srgb_length);
    return cv_generate_from(out, in, vips_start_one, icc_generate, vips_stop_one, transform);
}
