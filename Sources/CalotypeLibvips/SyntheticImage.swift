import CVips
import CalotypeCore
import Foundation

/// Photo-like test pictures made on the spot: smooth gradients, soft shapes,
/// edges and grain. Flat colour would compress and resize unrealistically
/// fast, so calibration and generated benchmark sets use these.
public enum SyntheticImage {
    /// A JPEG (quality 90) of `width` x `height`; `seed` varies the picture.
    /// Blocking: call it on a thread that may block.
    public static func jpeg(width: Int, height: Int, seed: UInt64 = 1) throws(ProcessingError) -> [UInt8] {
        try encodedPicture(width: width, height: height, seed: seed, lensBlur: nil)
    }

    /// A photo-like JPEG (quality 90) for benchmark sets: the same picture
    /// (gradients, a wave texture, shapes, grain), softened by libvips'
    /// Gaussian blur as a lens would, so that edges and grain are not sharper
    /// than a camera makes them and the JPEG is about as large as a photo's.
    /// Blocking: call it on a thread that may block.
    public static func photo(width: Int, height: Int, seed: UInt64 = 1) throws(ProcessingError) -> [UInt8] {
        try encodedPicture(width: width, height: height, seed: seed, lensBlur: 0.8)
    }

    private static func encodedPicture(width: Int, height: Int, seed: UInt64, lensBlur: Double?) throws(ProcessingError) -> [UInt8] {
        _ = try LibvipsRuntime.shared()
        let pixels = picture(width: width, height: height, seed: seed)
        let pointer = pixels.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), 3, VIPS_FORMAT_UCHAR)
        }
        guard let pointer else {
            throw ProcessingError(.internal, "making a synthetic image failed", detail: LibvipsError.take())
        }
        var image = VipsImageHandle(owning: pointer)
        if let lensBlur {
            image = try image.apply("blur") { cv_gaussblur($0, $1, lensBlur) }
        }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard cv_write_to_buffer(image.pointer, ".jpg[Q=90,strip]", &buffer, &length) == 0, let buffer else {
            throw ProcessingError(.internal, "encoding a synthetic image failed", detail: LibvipsError.take())
        }
        defer { g_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    static func picture(width: Int, height: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        let phase = Double(random.next() % 1000) / 100
        func fraction(_ scale: UInt64) -> Double { Double(random.next() % scale) / Double(scale) }
        var discs: [(x: Double, y: Double, radius: Double, colour: (Double, Double, Double))] = []
        for _ in 0..<5 {
            let x = fraction(1000) * Double(width)
            let y = fraction(1000) * Double(height)
            let radius = (0.05 + fraction(1000) / 5) * Double(min(width, height))
            let colour = (fraction(256) * 256, fraction(256) * 256, fraction(256) * 256)
            discs.append((x, y, radius, colour))
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let v = Double(y) / Double(height)
            for x in 0..<width {
                let u = Double(x) / Double(width)
                let wave: Double = sin(Double(x) / 37 + phase) * cos(Double(y) / 23)
                var red: Double = 120 + 100 * wave
                var green: Double = 40 + 180 * u * (1 - v) + 30 * sin(Double(x + y) / 11)
                var blue: Double = 200 - 150 * v + 20 * cos(Double(x) / 5)
                for disc in discs {
                    let dx = Double(x) - disc.x
                    let dy = Double(y) - disc.y
                    if dx * dx + dy * dy < disc.radius * disc.radius {
                        (red, green, blue) = disc.colour
                    }
                }
                let grain = Double(Int(random.next() % 25) - 12)
                let offset = (y * width + x) * 3
                pixels[offset] = clamp(red + grain)
                pixels[offset + 1] = clamp(green + grain)
                pixels[offset + 2] = clamp(blue + grain)
            }
        }
        return pixels
    }

    private static func clamp(_ value: Double) -> UInt8 {
        UInt8(min(max(value.rounded(), 0), 255))
    }
}

/// A small, fast, seedable generator (Vigna's SplitMix64), so generated
/// images (and the tests' generated inputs) are the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
