import FuzzSupport

@testable import CalotypeCore

/// `ImageSize.sniff` and `JPEGScans.count`: the header readers that run on
/// every upload before libvips sees it (the size and an animation's frames
/// for placement, the memory budget and `ImageLimits.maxAnimationFrames`;
/// the scan count for `ImageLimits.maxJPEGScans`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: count)

    // The scan count stops right after its limit, and a lower limit only cuts it short.
    let scans = JPEGScans.count(input, stoppingAfter: 1_000)
    require((0...1_001).contains(scans), "\(scans) scans counted with a limit of 1000")
    for limit in [0, 1, 3] {
        let capped = JPEGScans.count(input, stoppingAfter: limit)
        require(capped == min(scans, limit + 1), "\(capped) scans with a limit of \(limit), \(scans) with 1000")
    }

    let bytes = Array(input)
    guard let size = ImageSize.sniff(bytes) else { return 0 }
    // Every format's fields are at most 32 bits (PNG), and a size is positive.
    require(size.width > 0 && size.height > 0, "sniffed \(size)")
    require(size.width <= Int(UInt32.max) && size.height <= Int(UInt32.max), "sniffed \(size)")
    require(size.megapixels.isFinite && size.megapixels > 0, "sniffed \(size): \(size.megapixels) MP")
    // Frames are counted from blocks of at least a few bytes each.
    require(size.frames >= 1 && size.frames <= max(bytes.count / 4, 1), "sniffed \(size.frames) frames in \(bytes.count) bytes")
    // A size comes from the header alone: bytes after it change nothing;
    // the frames, counted up to the first damage, can only be more.
    let extended = ImageSize.sniff(bytes + [0xFF, 0xD9, 0x00, 0xFF])
    require(
        extended?.width == size.width && extended?.height == size.height && (extended?.frames ?? 0) >= size.frames,
        "sniffed \(size), then \(String(describing: extended)) with more bytes after"
    )
    return 0
}
