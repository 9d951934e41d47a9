import Foundation

/// Files an attacker makes in a few bytes: headers that declare absurd
/// sizes in every format the sniffers and libvips read, truncated and
/// corrupt images, polyglots and nothing at all. Each must be answered
/// 4xx, alone or many at once (two 66-byte PNGs declaring 2^30 x 2^30
/// pixels, posted together, once ended the process).
public enum HostileImages {
    public struct Sample: Sendable {
        public let name: String
        public let bytes: [UInt8]

        public init(name: String, bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// The files made here from nothing. `photo` (an ordinary JPEG) gives
    /// the truncated, corrupt and polyglot samples their real image data.
    public static func all(photo: [UInt8]) -> [Sample] {
        let absurdSides: [(UInt32, UInt32)] = [
            (1 << 30, 1 << 30), (.max, .max), (.max, 1), (1, .max), (0x7FFF_FFFF, 0x7FFF_FFFF), (0, 0), (0, 100), (30_000, 30_000),
        ]
        var samples = absurdSides.map { Sample(name: "png-\($0.0)x\($0.1).png", bytes: png(width: $0.0, height: $0.1)) }
        samples += [
            Sample(name: "gif-65535x65535.gif", bytes: gif(width: 0xFFFF, height: 0xFFFF)),
            Sample(name: "gif-truncated.gif", bytes: Array(gif(width: 100, height: 100).prefix(19))),
            Sample(name: "gif-10000-frames.gif", bytes: animatedGIF(frames: 10_000)),
            Sample(name: "jpeg-65535x65535.jpg", bytes: jpeg(width: 0xFFFF, height: 0xFFFF)),
            Sample(name: "jpeg-0x65535.jpg", bytes: jpeg(width: 0, height: 0xFFFF)),
            Sample(name: "webp-vp8x-16777216.webp", bytes: webpVP8X(width: 1 << 24, height: 1 << 24)),
            Sample(name: "webp-vp8l-16384.webp", bytes: webpVP8L(width: 16384, height: 16384)),
            Sample(name: "webp-vp8-16383.webp", bytes: webpVP8(width: 0x3FFF, height: 0x3FFF)),
            Sample(name: "tiff-4294967295.tif", bytes: tiff(width: .max, height: .max)),
            Sample(name: "tiff-65536x65536.tif", bytes: tiff(width: 65536, height: 65536)),
            Sample(name: "heif-header.heic", bytes: heifHeader()),
            Sample(name: "empty.jpg", bytes: []),
            Sample(name: "one-byte.png", bytes: [0x89]),
            Sample(name: "truncated.jpg", bytes: Array(photo.prefix(photo.count / 3))),
            Sample(name: "header-only.jpg", bytes: Array(photo.prefix(200))),
            Sample(name: "png-then-pdf.png", bytes: Array(png(width: 10, height: 10).prefix(33)) + Array("%PDF-1.4\n%%EOF\n".utf8)),
            Sample(name: "jpeg-then-zip.jpg", bytes: Array(photo.prefix(400)) + [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 64)),
            Sample(name: "svg.svg", bytes: Array(#"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>"#.utf8)),
            Sample(name: "noise.bin", bytes: (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }),
        ]
        return samples
    }

    /// A PNG of 66 bytes: signature, `IHDR` declaring the size, an empty
    /// `IDAT`'s worth of zlib and `IEND`.
    public static func png(width: UInt32, height: UInt32) -> [UInt8] {
        var header = bigEndian(width) + bigEndian(height)
        header += [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
            + chunk("IDAT", [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]) + chunk("IEND", [])
    }

    /// A GIF's logical screen and first image descriptor with the size.
    public static func gif(width: UInt16, height: UInt16) -> [UInt8] {
        let size = littleEndian16(width) + littleEndian16(height)
        return Array("GIF89a".utf8) + size + [0x00, 0x00, 0x00]
            + [0x2C, 0, 0, 0, 0] + size + [0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B]
    }

    /// A GIF of `frames` 1x1 frames written byte by byte (no encoder makes
    /// 10,000 frames quickly): a valid file, each frame one LZW block
    /// after a graphic control block of 0.1 s.
    public static func animatedGIF(frames: Int) -> [UInt8] {
        var bytes = Array("GIF89a".utf8) + [1, 0, 1, 0, 0x80, 0, 0]  // 1x1, a global table of 2 colours
        bytes += [0, 0, 0, 255, 255, 255]
        for _ in 0..<frames {
            bytes += [0x21, 0xF9, 4, 0, 10, 0, 0, 0]  // graphic control: 0.1 s
            bytes += [0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]  // image descriptor 1x1, no local table
            bytes += [2, 2, 0x44, 0x01, 0]  // LZW code size 2, one block: clear, 0, end
        }
        return bytes + [0x3B]
    }

    /// A baseline JPEG's SOF0 with the size, a DHT-less scan header and EOI.
    public static func jpeg(width: UInt16, height: UInt16) -> [UInt8] {
        let sof: [UInt8] =
            [0xFF, 0xC0, 0x00, 0x11, 0x08] + bigEndian16(height) + bigEndian16(width)
            + [0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]
        let quantisation: [UInt8] = [0xFF, 0xDB, 0x00, 0x43, 0x00] + Array(repeating: 1, count: 64)
        let scan: [UInt8] = [0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00]
        return [0xFF, 0xD8] + quantisation + sof + scan + Array(repeating: 0, count: 32) + [0xFF, 0xD9]
    }

    /// A WebP container with a `VP8X` chunk (sizes minus one, 24 bits).
    public static func webpVP8X(width: Int, height: Int) -> [UInt8] {
        let payload: [UInt8] = [0, 0, 0, 0] + littleEndian24(width - 1) + littleEndian24(height - 1)
        return riff(chunk: "VP8X", payload: payload)
    }

    /// A lossless WebP's `VP8L` header (14-bit sizes minus one).
    public static func webpVP8L(width: Int, height: Int) -> [UInt8] {
        let bits = (width - 1) | (height - 1) << 14
        let payload: [UInt8] = [0x2F] + littleEndian32(UInt32(truncatingIfNeeded: bits)) + Array(repeating: 0, count: 16)
        return riff(chunk: "VP8L", payload: payload)
    }

    /// A lossy WebP's `VP8 ` key frame header (14-bit sizes).
    public static func webpVP8(width: UInt16, height: UInt16) -> [UInt8] {
        let payload: [UInt8] = [0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A] + littleEndian16(width) + littleEndian16(height) + Array(repeating: 0, count: 16)
        return riff(chunk: "VP8 ", payload: payload)
    }

    /// A little-endian TIFF whose one IFD declares the size (LONGs), 8-bit
    /// RGB, one strip at an offset past the end of the file.
    public static func tiff(width: UInt32, height: UInt32) -> [UInt8] {
        let entries: [(UInt16, UInt16, UInt32, UInt32)] = [
            (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, 0xFFFF_0000), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, 0xFFFF_FFFF),
        ]
        var bytes: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + littleEndian32(8) + littleEndian16(UInt16(entries.count))
        for (tag, type, count, value) in entries {
            bytes += littleEndian16(tag) + littleEndian16(type) + littleEndian32(count) + littleEndian32(value)
        }
        return bytes + littleEndian32(0)
    }

    /// An ISO-BMFF `ftyp` box of a HEIF and a `meta` box that ends early.
    public static func heifHeader() -> [UInt8] {
        let ftyp: [UInt8] = bigEndian(24) + Array("ftypheic".utf8) + bigEndian(0) + Array("mif1heic".utf8)
        let meta: [UInt8] = bigEndian(0xFFFF_FFF0) + Array("meta".utf8) + [0, 0, 0, 0]
        return ftyp + meta
    }

    private static func riff(chunk name: String, payload: [UInt8]) -> [UInt8] {
        let body = Array("WEBP".utf8) + Array(name.utf8) + littleEndian32(UInt32(payload.count)) + payload
        return Array("RIFF".utf8) + littleEndian32(UInt32(body.count)) + body
    }

    private static func chunk(_ kind: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(kind.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func bigEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    private static func littleEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    private static func littleEndian24(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value >> 16)]
    }

    private static func littleEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}
