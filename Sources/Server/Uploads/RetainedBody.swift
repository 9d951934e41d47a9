import CalotypeCore
import NIOCore

/// A request body kept alive for the parts and raw images that are read
/// where they arrived (`EncodedBytes` regions of it). The buffer is never
/// written again: a `let` copy holds its storage, so no write elsewhere can
/// move or change the bytes those regions point at (a writer would copy).
final class RetainedBody: Sendable {
    let buffer: ByteBuffer

    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }
}

extension ByteBuffer {
    /// The readable bytes, in place: no copy, the storage retained.
    var encodedBytes: EncodedBytes {
        let retained = RetainedBody(self)
        return retained.buffer.withUnsafeReadableBytes { bytes in
            EncodedBytes(borrowing: bytes.baseAddress, count: bytes.count, owner: retained)
        }
    }
}
