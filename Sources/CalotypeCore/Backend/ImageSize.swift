/// An image's pixel dimensions, read from the first bytes of its encoding
/// without libvips, so that the scheduler can estimate a job's cost and check
/// that a device can hold it before choosing where the job runs.
public struct ImageSize: Sendable, Hashable {
    public var width: Int
    public var height: Int
    /// Frames of an animated GIF or WebP (1 for every other image): what an
    /// output that keeps the animation decodes, each of `width` x `height`.
    public var frames: Int

    public init(width: Int, height: Int, frames: Int = 1) {
        self.width = width
        self.height = height
        self.frames = frames
    }

    /// One frame's megapixels.
    public var megapixels: Double { Double(width) * Double(height) / 1_000_000 }

    /// The size declared by a JPEG, PNG, WebP or GIF header, or `nil` for
    /// other formats and for data that is not a well-formed header. Pure
    /// parsing of at most the first few kilobytes of a JPEG, and of a GIF's
    /// or WebP's block and chunk headers to count frames; never decodes.
    public static func sniff(_ bytes: [UInt8]) -> ImageSize? {
        bytes.withUnsafeBufferPointer(sniff)
    }

    public static func sniff(_ bytes: EncodedBytes) -> ImageSize? {
        bytes.withUnsafeBytes { sniff($0) }
    }

    /// The same, over bytes a caller holds (a backend's input buffer).
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageSize? {
        sniff(bytes.assumingMemoryBound(to: UInt8.self))
    }

    private static func sniff(_ buffer: UnsafeBufferPointer<UInt8>) -> ImageSize? {
        let header = HeaderBytes(buffer)
        return header.png() ?? header.jpeg() ?? header.webp() ?? header.gif()
    }
}

/// Bounds-checked big- and little-endian reads over an encoded image.
private struct HeaderBytes {
    let bytes: UnsafeBufferPointer<UInt8>

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func byte(_ offset: Int) -> Int? {
        offset >= 0 && offset < bytes.count ? Int(bytes[offset]) : nil
    }

    func bigEndian16(_ offset: Int) -> Int? {
        guard let high = byte(offset), let low = byte(offset + 1) else { return nil }
        return high << 8 | low
    }

    func bigEndian32(_ offset: Int) -> Int? {
        guard let high = bigEndian16(offset), let low = bigEndian16(offset + 2) else { return nil }
        return high << 16 | low
    }

    func littleEndian16(_ offset: Int) -> Int? {
        guard let low = byte(offset), let high = byte(offset + 1) else { return nil }
        return high << 8 | low
    }

    func littleEndian24(_ offset: Int) -> Int? {
        guard let low = littleEndian16(offset), let high = byte(offset + 2) else { return nil }
        return high << 16 | low
    }

    func matches(_ text: String, at offset: Int) -> Bool {
        Array(text.utf8).enumerated().allSatisfy { byte(offset + $0.offset) == Int($0.element) }
    }

    private func size(_ width: Int?, _ height: Int?, frames: Int = 1) -> ImageSize? {
        guard let width, let height, width > 0, height > 0 else { return nil }
        return ImageSize(width: width, height: height, frames: max(frames, 1))
    }

    func png() -> ImageSize? {
        guard byte(0) == 0x89, matches("PNG", at: 1), matches("IHDR", at: 12) else { return nil }
        return size(bigEndian32(16), bigEndian32(20))
    }

    func gif() -> ImageSize? {
        guard matches("GIF8", at: 0) else { return nil }
        return size(littleEndian16(6), littleEndian16(8), frames: gifFrames())
    }

    /// The image descriptors of a GIF, counted by walking its blocks (the
    /// colour tables skipped, each data block by its length byte): a step
    /// per block, never past the bytes, up to the first damage.
    func gifFrames() -> Int {
        guard let flags = byte(10) else { return 1 }
        var offset = 13 + (flags & 0x80 != 0 ? 3 << ((flags & 0x07) + 1) : 0)
        var frames = 0
        /// The offset after the data sub-blocks that start at `start`, or nil.
        func afterSubBlocks(_ start: Int) -> Int? {
            var position = start
            while let length = byte(position) {
                position += 1 + length
                if length == 0 { return position }
            }
            return nil
        }
        while let introducer = byte(offset) {
            switch introducer {
            case 0x2C:  // image descriptor: 9 bytes, a local colour table, the LZW code size, the data
                guard let packed = byte(offset + 9) else { return max(frames, 1) }
                frames += 1
                let table = packed & 0x80 != 0 ? 3 << ((packed & 0x07) + 1) : 0
                guard let next = afterSubBlocks(offset + 10 + table + 1) else { return frames }
                offset = next
            case 0x21:  // extension: its label, then sub-blocks
                guard let next = afterSubBlocks(offset + 2) else { return max(frames, 1) }
                offset = next
            default:  // the trailer (0x3B), or damage
                return max(frames, 1)
            }
        }
        return max(frames, 1)
    }

    /// The `ANMF` chunks of an animated WebP (one per frame), found by
    /// walking the RIFF chunks from their headers.
    func webpFrames() -> Int {
        var offset = 12
        var frames = 0
        while byte(offset + 7) != nil {
            guard let low = littleEndian16(offset + 4), let high = littleEndian16(offset + 6) else { break }
            if matches("ANMF", at: offset) { frames += 1 }
            let length = high << 16 | low
            offset += 8 + length + (length & 1)
        }
        return max(frames, 1)
    }

    /// Walks the markers to the first start-of-frame (SOF0...SOF15 but DHT,
    /// JPG and DAC), which holds the height and width.
    func jpeg() -> ImageSize? {
        guard byte(0) == 0xFF, byte(1) == 0xD8 else { return nil }
        var offset = 2
        while let marker = byte(offset + 1), byte(offset) == 0xFF {
            if marker == 0xFF {
                offset += 1
                continue
            }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 {
                offset += 2
                continue
            }
            guard let length = bigEndian16(offset + 2), length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return size(bigEndian16(offset + 7), bigEndian16(offset + 5))
            }
            if marker == 0xDA || marker == 0xD9 { return nil }  // scan data before any frame header
            offset += 2 + length
        }
        return nil
    }

    func webp() -> ImageSize? {
        guard matches("RIFF", at: 0), matches("WEBP", at: 8) else { return nil }
        if matches("VP8 ", at: 12) {
            guard byte(23) == 0x9D, byte(24) == 0x01, byte(25) == 0x2A,
                let width = littleEndian16(26), let height = littleEndian16(28)
            else { return nil }
            return size(width & 0x3FFF, height & 0x3FFF)
        }
        if matches("VP8L", at: 12) {
            guard byte(20) == 0x2F, let b0 = byte(21), let b1 = byte(22), let b2 = byte(23), let b3 = byte(24) else { return nil }
            let width = 1 + (b0 | (b1 & 0x3F) << 8)
            let height = 1 + ((b1 >> 6) | b2 << 2 | (b3 & 0x0F) << 10)
            return size(width, height)
        }
        if matches("VP8X", at: 12) {
            guard let flags = byte(20), let width = littleEndian24(24), let height = littleEndian24(27) else { return nil }
            return size(width + 1, height + 1, frames: flags & 0x02 != 0 ? webpFrames() : 1)
        }
        return nil
    }
}
