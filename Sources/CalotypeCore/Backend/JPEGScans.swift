#if canImport(Glibc)
import Glibc
#endif

/// Counts the scans of a JPEG from its markers, without decoding it.
///
/// A progressive JPEG may hold any number of scans, and the decoder makes a
/// pass over the whole image for each: a valid 3.4 MB file of 2,657 scans
/// costs a minute of CPU. Counting start-of-scan markers first lets the
/// limit (`ImageLimits.maxJPEGScans`) refuse it for the cost of a `memchr`
/// over the bytes. Inside entropy-coded data a 0xFF byte is always followed
/// by 0x00 (a stuffed byte) or a restart marker, so every other marker is
/// found by looking for 0xFF alone.
package enum JPEGScans {
    /// The number of start-of-scan markers in `bytes`, counting no further
    /// than `limit + 1`.
    package static func count(_ bytes: UnsafeRawBufferPointer, stoppingAfter limit: Int) -> Int {
        guard bytes.count >= 4, let base = bytes.baseAddress, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return 0 }
        var scans = 0
        var position = 2
        while position + 1 < bytes.count {
            guard bytes[position] == 0xFF else {
                guard let next = memchr(base + position, 0xFF, bytes.count - position) else { break }
                position = base.distance(to: UnsafeRawPointer(next))
                continue
            }
            let marker = bytes[position + 1]
            switch marker {
            case 0xFF:
                position += 1  // fill byte
            case 0x00, 0x01, 0xD0...0xD8:
                position += 2  // stuffed byte, TEM, restart or SOI: no length follows
            case 0xD9:
                return scans  // end of image
            default:
                guard position + 3 < bytes.count else { return scans }
                if marker == 0xDA {
                    scans += 1
                    if scans > limit { return scans }
                }
                let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
                position += 2 + max(length, 2)
            }
        }
        return scans
    }
}
