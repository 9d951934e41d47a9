import CVips
import CalotypeCore
import CalotypeLibvips

/// A start-up comparison of the device with the installed libvips on a tiny
/// image: resize, blur, sharpen and grey through both paths must agree exactly.
/// libvips 8.15 and later changed their arithmetic; a mismatch is reported
/// (in `calotype devices`, and by `supports`) instead of silently producing
/// different pictures.
public enum OpenCLSelfCheck {
    public enum Result: Sendable, Equatable {
        case passed
        case failed(String)
        case skipped(String)

        public var description: String {
            switch self {
            case .passed: "passed (bit-exact with this libvips)"
            case .failed(let reason): "FAILED: \(reason)"
            case .skipped(let reason): "skipped (\(reason))"
            }
        }
    }

    static func run(on device: OpenCLDevice) -> Result {
        do {
            return try compare(on: device)
        } catch {
            return .failed("the comparison could not run: \(error.description)")
        }
    }

    private static func compare(on device: OpenCLDevice) throws(ProcessingError) -> Result {
        let (width, height, bands) = (61, 37, 3)
        var state: UInt32 = 12345
        let pixels: [UInt8] = (0..<(width * height * bands)).map { index in
            state = state &* 1_664_525 &+ 1_013_904_223
            let x = (index / bands) % width
            return UInt8(truncatingIfNeeded: Int(state >> 26) + x * 3)
        }
        guard
            let raw = pixels.withUnsafeBytes({
                vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), Int32(bands), VIPS_FORMAT_UCHAR)
            })
        else {
            throw ProcessingError(.internal, "self-check image", detail: LibvipsError.take())
        }
        raw.pointee.Type = VIPS_INTERPRETATION_sRGB
        var image = VipsImageHandle(owning: raw)
        image = try image.apply("self-check resize") { cv_resize($0, $1, 0.37, 0.37) }
        image = try image.apply("self-check blur") { cv_gaussblur($0, $1, 1.3) }
        if device.info.hasDoubles {
            image = try image.apply("self-check sharpen") { cv_sharpen($0, $1, 0.5) }
            image = try image.apply("self-check grey") { cv_colourspace($0, $1, VIPS_INTERPRETATION_B_W) }
        }
        let expected = try image.pixels()

        var plan = OpenCLPlan(width: width, height: height, bands: bands, hasDoubles: device.info.hasDoubles)
        try plan.resize(horizontalScale: 0.37, verticalScale: 0.37)
        plan.blur(sigma: 1.3)
        if device.info.hasDoubles {
            try plan.sharpen(sigma: 0.5)
            try plan.grayscale()
        }
        let actual = try plan.run(pixels, on: device)
        guard actual.count == expected.count else {
            return .failed("sizes differ (\(actual.count) against \(expected.count) bytes)")
        }
        let differing = zip(actual, expected).filter { $0 != $1 }.count
        return differing == 0
            ? .passed : .failed("\(differing) of \(expected.count) samples differ from libvips \(String(cString: vips_version_string()))")
    }
}
