import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

/// Animated GIFs and WebPs made on the spot by libvips' own savers, and
/// read back frame by frame, to check what a backend kept.
package enum Animation {
    /// The colour of frame `index`: far apart for each of the first frames,
    /// so that a frame mixed with its neighbour shows.
    package static func colour(_ index: Int) -> [UInt8] {
        let palette: [[UInt8]] = [[230, 30, 30], [30, 200, 40], [40, 60, 220], [240, 220, 20], [20, 210, 220], [200, 40, 200]]
        return palette[index % palette.count]
    }

    /// An animation of `frames` solid frames of `width` x `height` (frame
    /// `i` in `colour(i)`, with a black square in its top left quarter so
    /// that flips and crops show), frame `i` shown `delays[i]` ms, looping
    /// `loop` times (0: for ever). `format`: gif or webp (lossless).
    package static func make(
        frames: Int,
        width: Int = 40,
        height: Int = 30,
        delays: [Int]? = nil,
        loop: Int = 0,
        format: OutputFormat = .gif
    ) throws -> [UInt8] {
        _ = try LibvipsRuntime.shared()
        var pixels = [UInt8](repeating: 0, count: width * height * frames * 3)
        for frame in 0..<frames {
            let colour = Self.colour(frame)
            for y in 0..<height {
                for x in 0..<width where !(x < width / 4 && y < height / 4) {
                    let offset = ((frame * height + y) * width + x) * 3
                    pixels[offset..<offset + 3] = colour[...]
                }
            }
        }
        let image = try #require(
            pixels.withUnsafeBytes {
                vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height * frames), 3, VIPS_FORMAT_UCHAR)
            }
        )
        defer { g_object_unref(image) }
        image.pointee.Type = VIPS_INTERPRETATION_sRGB
        vips_image_set_int(image, "page-height", Int32(height))
        var delays = (delays ?? Array(repeating: 100, count: frames)).map { Int32($0) }
        delays.withUnsafeMutableBufferPointer { vips_image_set_array_int(image, "delay", $0.baseAddress, Int32($0.count)) }
        vips_image_set_int(image, "loop", Int32(loop))
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        try #require(cv_write_to_buffer(image, format == .webp ? ".webp[lossless]" : ".gif", &buffer, &length) == 0)
        let bytes = try #require(buffer)
        defer { g_free(bytes) }
        return Array(UnsafeRawBufferPointer(start: bytes, count: length))
    }
}

/// An encoded animation decoded again, every frame.
package struct DecodedAnimation {
    package let format: SourceFormat
    package let width: Int
    /// One frame's height.
    package let height: Int
    package let frames: Int
    package let delays: [Int]
    package let loop: Int
    package let bands: Int
    package let pixels: [UInt8]

    package init(_ bytes: [UInt8]) throws {
        try self.init(EncodedBytes(bytes))
    }

    package init(_ bytes: EncodedBytes) throws {
        let result: Result<DecodedAnimation, ProcessingError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProcessingError) in
                let source = try LibvipsSource(buffer, name: "output", limits: ImageLimits())
                let image = try source.open(access: VIPS_ACCESS_RANDOM, options: "n=-1")
                var delays: UnsafeMutablePointer<Int32>?
                var count: Int32 = 0
                let hasDelays =
                    vips_image_get_typeof(image.pointer, "delay") != 0 && vips_image_get_array_int(image.pointer, "delay", &delays, &count) == 0
                return DecodedAnimation(
                    format: source.format,
                    width: image.width,
                    height: image.int("page-height") ?? image.height,
                    frames: source.pageCount,
                    delays: hasDelays ? (0..<Int(count)).map { Int(delays?[$0] ?? 0) } : [],
                    loop: image.int("loop") ?? 0,
                    bands: image.bands,
                    pixels: try image.pixels()
                )
            }
        }
        self = try result.get()
    }

    private init(format: SourceFormat, width: Int, height: Int, frames: Int, delays: [Int], loop: Int, bands: Int, pixels: [UInt8]) {
        (self.format, self.width, self.height, self.frames) = (format, width, height, frames)
        (self.delays, self.loop, self.bands, self.pixels) = (delays, loop, bands, pixels)
    }

    /// The colour bands (no alpha) at `x`, `y` of frame `frame`.
    package func pixel(frame: Int, _ x: Int, _ y: Int) -> [UInt8] {
        let start = ((frame * height + y) * width + x) * bands
        return Array(pixels[start..<start + min(bands, 3)])
    }
}

/// Whether two colours are within `tolerance` in every band (GIF's palette
/// and lossy WebP move colours a little).
package func near(_ a: [UInt8], _ b: [UInt8], tolerance: Int = 24) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs(Int($0) - Int($1)) <= tolerance }
}
