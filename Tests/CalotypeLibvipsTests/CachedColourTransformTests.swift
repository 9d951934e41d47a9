import BackendTestSupport
import CVips
import CVipsOperations
import CalotypeCore
import Foundation
import Testing

@testable import CalotypeLibvips

/// The conversion of a tagged photo to sRGB with its lcms2 transform kept
/// (`cv_icc_to_srgb_cached`) must give what `vips_icc_transform` gives:
/// the same pixels, interpretation and attached profile.
@Suite("Colour: ICC to sRGB with each profile's transform made once")
struct CachedColourTransformTests {
    static func tagged(_ profile: String, bands: Int = 3, seed: UInt64 = 5) throws -> VipsImageHandle {
        let image = try LibvipsResizeTests.image(width: 211, height: 57, bands: bands, seed: seed)
        // A private copy: the profile is metadata of this image alone.
        let copy = try image.apply("copy") { cv_copy($0, $1) }
        #expect(cv_tag_with_builtin_profile(copy.pointer, profile) == 0)
        return copy
    }

    static func profile(of image: VipsImageHandle) throws -> [UInt8] {
        var data: UnsafeRawPointer?
        var length = 0
        #expect(vips_image_get_blob(image.pointer, "icc-profile-data", &data, &length) == 0)
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    static func cached(_ image: VipsImageHandle) throws -> VipsImageHandle? {
        var output: UnsafeMutablePointer<VipsImage>?
        let status = cv_icc_to_srgb_cached(image.pointer, &output)
        #expect(status >= 0)
        return status == 0 ? VipsImageHandle(owning: try #require(output)) : nil
    }

    @Test func aDisplayP3PhotoGetsLibvipsPixelsAndProfile() throws {
        for seed: UInt64 in [1, 2, 3] {
            let photo = try Self.tagged("p3", seed: seed)
            let expected = try photo.apply("icc") { cv_icc_to_srgb($0, $1) }
            let actual = try #require(try Self.cached(photo))
            #expect(try actual.pixels() == expected.pixels())
            #expect(try Self.profile(of: actual) == Self.profile(of: expected))
            #expect(actual.interpretation == expected.interpretation)
            #expect(actual.bands == 3 && actual.bandFormat == VIPS_FORMAT_UCHAR)
            // The pipeline's colour step takes the cached path and agrees.
            #expect(try LibvipsEncoding.normaliseColour(photo).pixels() == expected.pixels())
        }
    }

    @Test func aProfileSeenBeforeReusesItsTransform() throws {
        _ = try Self.cached(try Self.tagged("p3"))
        let kept = cv_icc_cached_transforms()
        #expect(kept >= 1)
        for seed: UInt64 in 10...14 {
            _ = try #require(try Self.cached(try Self.tagged("p3", seed: seed)))
        }
        #expect(cv_icc_cached_transforms() == kept)
    }

    /// What it does not take stays with libvips: alpha, CMYK, grey, a
    /// damaged profile, no profile.
    @Test func otherImagesAndProfilesAreLeftToLibvips() throws {
        #expect(try Self.cached(try Self.tagged("p3", bands: 4)) == nil)
        #expect(try Self.cached(try Self.tagged("cmyk")) == nil)
        let plain = try LibvipsResizeTests.image(width: 20, height: 10, bands: 3)
        #expect(try Self.cached(plain) == nil)
        let damaged = try plain.apply("copy") { cv_copy($0, $1) }
        let junk = [UInt8](repeating: 7, count: 300)
        junk.withUnsafeBytes { vips_image_set_blob_copy(damaged.pointer, "icc-profile-data", $0.baseAddress, $0.count) }
        #expect(try Self.cached(damaged) == nil)
    }
}
